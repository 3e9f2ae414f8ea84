/**
 * When to hand the buffer to the sink: as soon as it holds `maxEvents`, when the oldest message
 * has waited `maxWaitMs`, or at once when draining for shutdown. Pure; the run loop asks it
 * after every fetch and every timer.
 */
export type FlushDecision =
  | { readonly kind: 'idle' }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'flush'; readonly count: number };

export interface FlushInput {
  readonly buffered: number;
  /** Age of the oldest buffered message, ms (monotonic clock). */
  readonly oldestAgeMs: number;
  readonly maxEvents: number;
  readonly maxWaitMs: number;
  readonly draining: boolean;
}

export function decideFlush(input: FlushInput): FlushDecision {
  const { buffered, oldestAgeMs, maxEvents, maxWaitMs, draining } = input;
  if (buffered <= 0) return { kind: 'idle' };
  const count = Math.min(buffered, maxEvents);
  if (buffered >= maxEvents || draining || oldestAgeMs >= maxWaitMs) return { kind: 'flush', count };
  return { kind: 'wait', ms: Math.max(1, Math.ceil(maxWaitMs - oldestAgeMs)) };
}

/**
 * How long the oldest buffered message has waited, for `decideFlush`: the longer of its time in
 * the buffer (monotonic) and its time since it was produced (the Kafka timestamp, set by the API
 * from its clock when it accepted the event). Counting from production means the batch wait is
 * part of the freshness budget rather than added to it: an event that already waited at the
 * broker (a fetch held up to its max wait, or partitions without an owner during a rebalance) is
 * written at once instead of waiting a full batch interval more. The time in the buffer still
 * bounds the wait if the producer's clock runs behind ours.
 */
export function oldestWaitMs(bufferedForMs: number, producedAgoMs: number): number {
  return Math.max(bufferedForMs, Number.isFinite(producedAgoMs) ? producedAgoMs : 0, 0);
}

/**
 * How many messages may sit in the buffer before the fetch loop holds back: two batches, so
 * the next batch is fetched and decoded while the sink writes the current one.
 */
export const bufferLimit = (maxEvents: number): number => maxEvents * 2;
