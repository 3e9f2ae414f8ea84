/**
 * Percentile math the benchmark reports with, kept pure so it is tested without a load run.
 *
 * Samples use the nearest-rank definition: the p-th percentile of n sorted values is the value
 * at rank ceil(p * n) (1-based). It always returns an observed value (no interpolation between
 * two requests), p100 is the maximum, and a p99.9 over fewer than 1,000 samples is simply the
 * maximum, which is the honest answer.
 */

/** Nearest-rank percentile of ascending-sorted values; NaN when there are none. q in [0, 1]. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile out of [0, 1]: ${q}`);
  // The epsilon keeps float noise from bumping a whole rank (0.07 * 100 = 7.000000000000001).
  const rank = Math.max(1, Math.ceil(q * n - 1e-9));
  return sorted[Math.min(n, rank) - 1] as number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Rounds to 2 decimals (hundredths of a millisecond is well under what we can resolve). */
export const round2 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 100) / 100 : x);

/** Percentiles of latency samples in milliseconds (unsorted input is fine; it is not modified). */
export function summarizeLatencies(samplesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    p50Ms: round2(percentileSorted(sorted, 0.5)),
    p90Ms: round2(percentileSorted(sorted, 0.9)),
    p99Ms: round2(percentileSorted(sorted, 0.99)),
    p999Ms: round2(percentileSorted(sorted, 0.999)),
    maxMs: round2(n === 0 ? Number.NaN : (sorted[n - 1] as number)),
    meanMs: round2(n === 0 ? Number.NaN : sum / n),
  };
}

export interface HistogramBucket {
  /** Upper bound (inclusive), Infinity for +Inf. */
  readonly le: number;
  /** Cumulative count of observations <= le. */
  readonly count: number;
}

/**
 * The q-quantile of a cumulative (Prometheus) histogram as the upper bound of the bucket that
 * holds the rank: an upper bound on the true value, never an interpolation. Null when empty or
 * when the rank falls in the +Inf bucket.
 */
export function histogramQuantileUpperBound(buckets: readonly HistogramBucket[], q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1]?.count ?? 0;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total - 1e-9));
  const hit = sorted.find((b) => b.count >= rank);
  return hit === undefined || !Number.isFinite(hit.le) ? null : hit.le;
}

/**
 * The buckets of one histogram from Prometheus text exposition, summed over every label set
 * other than `le` (one process may export several series of the same histogram), or over the
 * series whose line passes `where`.
 */
export function parsePrometheusHistogram(text: string, name: string, where?: (line: string) => boolean): HistogramBucket[] {
  const byLe = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || (where && !where(line))) continue;
    const le = /[{,]le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

export interface LatencyWindow {
  /** Seconds from the run's first request to the start of this window. */
  readonly fromS: number;
  /** Where the window ends (fromS + the window's length). */
  readonly toS: number;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * Latency by time window (e.g. 10 s): shows whether a run's tail comes from its first seconds
 * (warm-up: JIT, a new topic's first fetches, a new table's first writes) or from all along.
 * `startS` is each request's (scheduled) send time in seconds from any origin; windows start at
 * the earliest one. Empty windows are kept (count 0, NaN figures) so the series is regular.
 */
export function latencyWindows(samples: readonly { readonly startS: number; readonly latencyMs: number }[], windowS: number): LatencyWindow[] {
  if (!(windowS > 0)) throw new RangeError(`window must be positive: ${windowS}`);
  if (samples.length === 0) return [];
  let origin = Infinity;
  for (const s of samples) origin = Math.min(origin, s.startS);
  const buckets: number[][] = [];
  for (const s of samples) {
    const i = Math.floor((s.startS - origin) / windowS);
    (buckets[i] ??= []).push(s.latencyMs);
  }
  return Array.from(buckets, (b = [], i) => {
    const sum = summarizeLatencies(b);
    return { fromS: round2(i * windowS), toS: round2((i + 1) * windowS), count: sum.count, p50Ms: sum.p50Ms, p99Ms: sum.p99Ms, maxMs: sum.maxMs };
  });
}
