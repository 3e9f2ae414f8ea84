/**
 * Measures what the machine sustains before the fault run picks its rate, so a slower machine
 * tests the same faults at a load it can carry instead of an overload.
 *
 * A closed loop (a fixed number of requests always open, each sent when one ends) against the
 * private stack's API, with both consumers running and projecting what it writes: the rate of
 * 202s over a few seconds is what the API, the broker, the consumers, the stores and the load
 * client together sustain on this machine now. The run then goes at a share of it (`chooseRate`),
 * never above the rate the test documents.
 */
import { join } from 'node:path';
import { readAttempts, startLoad } from './load.ts';
import type { LoadSummary } from './load-worker.ts';

export interface Calibration {
  readonly runId: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** Requests sent before this (ms into the run) are left out of the rate. */
  readonly warmupMs: number;
  readonly load: LoadSummary;
  readonly accepted: number;
  /** 202s a second among the requests sent after the warm-up. */
  readonly acceptedPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly statuses: Record<string, number>;
}

export interface CalibrationOptions {
  readonly url: string;
  readonly runId: string;
  readonly dir: string;
  readonly concurrency?: number;
  readonly durationMs?: number;
  readonly warmupMs?: number;
  readonly requestTimeoutMs?: number;
}

export async function calibrate(options: CalibrationOptions): Promise<Calibration> {
  const concurrency = options.concurrency ?? 128;
  // The first seconds after start-up are slower (the broker's JIT, Bun's, connection set-up): a
  // first run here measured 128 req/s over 1.5-6 s where the run that followed carried 200 req/s
  // with every answer under a second. Measure after a longer warm-up.
  const durationMs = options.durationMs ?? 9_000;
  const warmupMs = options.warmupMs ?? 4_000;
  const out = join(options.dir, 'calibration.ndjson');
  const load = await startLoad({
    url: options.url,
    runId: options.runId,
    concurrency,
    retries: 0,
    phase: 'calibration',
    out,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    maxDurationMs: durationMs,
    maxRequests: 10_000_000,
  }).finished();
  const attempts = await readAttempts(out);
  const statuses: Record<string, number> = {};
  for (const a of attempts) statuses[String(a.s)] = (statuses[String(a.s)] ?? 0) + 1;
  const measured = attempts.filter((a) => a.t >= warmupMs && a.t < durationMs);
  const accepted = measured.filter((a) => a.s === 202).length;
  const ms = measured.map((a) => a.ms).sort((x, y) => x - y);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  return {
    runId: options.runId,
    concurrency,
    durationMs,
    warmupMs,
    load,
    accepted: attempts.filter((a) => a.s === 202).length,
    acceptedPerSec: Math.round(accepted / ((durationMs - warmupMs) / 1000)),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    statuses,
  };
}

/**
 * The load the fault run assumes (docs/reliability.md, "Load"): `share` of what the machine was
 * measured to sustain, rounded down to `step`, at most `max` (the rate the test was written for
 * and its memory bound is stated at), at least `min` (below it a run would hardly load the
 * pipeline; the reason then says the machine is too slow for a meaningful run).
 */
export const RATE_POLICY = { share: 0.4, max: 2_000, min: 200, step: 50 } as const;

export function chooseRate(acceptedPerSec: number, policy: { share: number; max: number; min: number; step: number } = RATE_POLICY): { rate: number; reason: string } {
  const share = Math.floor((acceptedPerSec * policy.share) / policy.step) * policy.step;
  const measured = `measured ${acceptedPerSec} req/s of 202s in a closed loop`;
  if (share >= policy.max) return { rate: policy.max, reason: `${measured}; ${policy.share * 100} % of it (${share}) is at least the documented ${policy.max} req/s, so ${policy.max}` };
  if (share < policy.min) {
    return { rate: policy.min, reason: `${measured}; ${policy.share * 100} % of it (${share}) is below the floor of ${policy.min} req/s, so ${policy.min}: this machine (or its load now) is too slow for the run to mean much` };
  }
  return { rate: share, reason: `${measured}; the run goes at ${policy.share * 100} % of it (rounded down to ${policy.step}), below the documented ${policy.max} req/s` };
}
