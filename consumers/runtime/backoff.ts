/**
 * Retry delays: exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (half fixed,
 * half random) so several consumers failing on the same database do not retry in lockstep,
 * while the delay never drops below half the exponential step.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** `attempt` counts failures so far (1 = first retry). `random` returns [0, 1). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 52 is where doubling stops mattering; keeps the number finite for huge attempt counts.
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 52));
  const half = exponential / 2;
  return Math.round(half + random() * half);
}

export type RetryDecision = { readonly kind: 'give_up' } | { readonly kind: 'wait'; readonly ms: number };

/**
 * After the `failures`-th failure of a step: wait and try again, or give up when that attempt
 * was already the last chance (made after stop() was called). Never gives up otherwise.
 */
export function decideRetry(
  failures: number,
  wasLastChance: boolean,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): RetryDecision {
  if (wasLastChance) return { kind: 'give_up' };
  return { kind: 'wait', ms: backoffDelayMs(failures, policy, random) };
}
