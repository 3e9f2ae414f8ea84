/**
 * The drill's arithmetic, pure: what the client saw per phase (from the load worker's attempt
 * records), the longest stretch without a 202, quantiles from Prometheus histogram scrapes, and
 * which broker leads the most partitions.
 */
import type { AttemptRecord } from '../fault/load-worker.ts';

export interface PhaseWindow {
  readonly name: string;
  /** ms since the load worker started (the records' time base). */
  readonly from: number;
  readonly to: number;
}

export interface ClientFigures {
  readonly requests: number;
  readonly attempts: number;
  readonly acknowledged: number;
  /**
   * Every answer (each attempt), by status and, for an error answer that carried one, its problem
   * code ("503 OVERLOADED"); "0" = client timeout, "-1" = connection error.
   */
  readonly statuses: Record<string, number>;
  /** Attempts the client saw as 5xx. */
  readonly fiveXX: number;
  /** Attempts that ended in a client timeout or a connection error. */
  readonly clientErrors: number;
  /** Requests that never got a 202 (all attempts failed). */
  readonly unanswered: number;
  /** Longest time in the window with no 202 arriving at the client, ms. */
  readonly longestNo202Ms: number;
  readonly p99AnswerMs: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/**
 * The longest gap between consecutive 202 arrivals in [from, to], counting the window's edges,
 * so a phase whose first 202 came 6 s in shows 6 s.
 */
export function longestGapMs(arrivals: readonly number[], from: number, to: number): number {
  const inside = arrivals.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  let last = from;
  let longest = 0;
  for (const t of inside) {
    longest = Math.max(longest, t - last);
    last = t;
  }
  return Math.max(longest, to - last);
}

/** What the client saw for the requests started in the window (their attempts, wherever they ended). */
export function clientFigures(records: readonly AttemptRecord[], window: PhaseWindow): ClientFigures {
  const mine = records.filter((r) => r.p === window.name);
  const statuses: Record<string, number> = {};
  const requests = new Set<number>();
  const acked = new Set<number>();
  let fiveXX = 0;
  let clientErrors = 0;
  const latencies: number[] = [];
  for (const r of mine) {
    requests.add(r.n);
    const key = r.c === undefined ? String(r.s) : `${r.s} ${r.c}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (r.s >= 500) fiveXX += 1;
    if (r.s <= 0) clientErrors += 1;
    if (r.s === 202) acked.add(r.n);
    latencies.push(r.ms);
  }
  latencies.sort((a, b) => a - b);
  // 202s arriving in the window, whichever phase started their request.
  const arrivals = records.filter((r) => r.s === 202).map((r) => r.t + r.ms);
  return {
    requests: requests.size,
    attempts: mine.length,
    acknowledged: acked.size,
    statuses,
    fiveXX,
    clientErrors,
    unanswered: requests.size - acked.size,
    longestNo202Ms: Math.round(longestGapMs(arrivals, window.from, window.to)),
    p99AnswerMs: quantile(latencies, 0.99),
  };
}

export interface Histogram {
  /** upper bound -> cumulative count (Prometheus `le` buckets, +Inf included as Infinity). */
  readonly buckets: ReadonlyMap<number, number>;
  readonly count: number;
}

/** Sums a histogram's buckets over every series of `name` in a /metrics text. */
export function parseHistogram(text: string, name: string): Histogram {
  const buckets = new Map<number, number>();
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (le === undefined || !Number.isFinite(value)) continue;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    } else if (line.startsWith(`${name}_count`)) {
      count += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
    }
  }
  return { buckets, count };
}

/** b - a, bucket by bucket (a process's counts between two scrapes). */
export function histogramDelta(a: Histogram | undefined, b: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, v] of b.buckets) buckets.set(le, v - (a?.buckets.get(le) ?? 0));
  return { buckets, count: b.count - (a?.count ?? 0) };
}

export function histogramSum(hs: readonly Histogram[]): Histogram {
  const buckets = new Map<number, number>();
  let count = 0;
  for (const h of hs) {
    for (const [le, v] of h.buckets) buckets.set(le, (buckets.get(le) ?? 0) + v);
    count += h.count;
  }
  return { buckets, count };
}

/** The upper bound of the bucket holding quantile q (a conservative estimate); 0 when empty. */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count <= 0) return 0;
  const target = q * h.count;
  for (const le of [...h.buckets.keys()].sort((x, y) => x - y)) {
    if ((h.buckets.get(le) ?? 0) >= target) return le;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * The share of the observations at or under `bound`, which must be one of the histogram's bucket
 * bounds (else undefined: a histogram cannot say). "p99 under 2 s" judged from a histogram is
 * "at least 99 % within 2 s", the usual SLO form; the upper bound of the bucket holding the p99
 * is stricter by a whole bucket (it failed a run with 99.36 % of events within 2 s because the
 * 99th percentile fell between the 1.75 and 2 s bounds).
 */
export function shareWithin(h: Histogram, bound: number): number | undefined {
  if (h.count <= 0) return undefined;
  const within = h.buckets.get(bound);
  return within === undefined ? undefined : within / h.count;
}

/** The node id leading the most partitions (ties: the lowest id). */
export function busiestLeader(leaders: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const l of leaders) if (l >= 0) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}

/** What the brokers' logs say about the KRaft controller around a broker kill. */
export interface ControllerEvent {
  readonly kind: 'active' | 'fenced';
  /** the controller that became active, or the broker it fenced */
  readonly node: number;
  /** epoch ms, from the log line's timestamp (the JVM logs in the host's zone: UTC here) */
  readonly at: number;
  /** the controller epoch ('active' only) */
  readonly epoch?: number;
}

const ACTIVE = /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] INFO \[QuorumController id=(\d+)\] Becoming the active controller at epoch (\d+)/;
const FENCED = /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] INFO .*Fencing broker (\d+) (?:at epoch \d+ )?because its session has timed out/;

/** A log line's `[yyyy-mm-dd hh:mm:ss,SSS]` as epoch ms (UTC). */
const logTime = (m: RegExpExecArray): number => Date.parse(`${m[1]?.replace(' ', 'T')}.${m[2]}Z`);

/** The controller changes and fencings in a broker's server.log (pure; lines in any order). */
export function controllerEvents(log: string): ControllerEvent[] {
  const events: ControllerEvent[] = [];
  for (const line of log.split('\n')) {
    const a = ACTIVE.exec(line);
    if (a) events.push({ kind: 'active', node: Number(a[3]), epoch: Number(a[4]), at: logTime(a) });
    const f = FENCED.exec(line);
    if (f) events.push({ kind: 'fenced', node: Number(f[3]), at: logTime(f) });
  }
  return events;
}

/** The active controller as of `at`: the one that became active at the highest epoch by then. */
export function activeControllerAt(events: readonly ControllerEvent[], at: number): number | undefined {
  let best: ControllerEvent | undefined;
  for (const e of events) if (e.kind === 'active' && e.at <= at && (best === undefined || (e.epoch ?? 0) > (best.epoch ?? 0))) best = e;
  return best?.node;
}

/**
 * How a broker kill at `killedAt` of `node` went on the controller side: whether the killed
 * broker was the active controller, when a new one took over, and when the killed broker was
 * fenced (its partitions then get new leaders and it leaves every in-sync replica set).
 */
export function brokerKillTimeline(events: readonly ControllerEvent[], node: number, killedAt: number): { wasController: boolean; newControllerAfterMs?: number; fencedAfterMs?: number } {
  const wasController = activeControllerAt(events, killedAt) === node;
  const after = events.filter((e) => e.at >= killedAt).sort((a, b) => a.at - b.at);
  const takeover = wasController ? after.find((e) => e.kind === 'active' && e.node !== node) : undefined;
  const fenced = after.find((e) => e.kind === 'fenced' && e.node === node);
  return {
    wasController,
    ...(takeover ? { newControllerAfterMs: takeover.at - killedAt } : {}),
    ...(fenced ? { fencedAfterMs: fenced.at - killedAt } : {}),
  };
}

/** Java's String.hashCode, as Kafka computes it for a group id (UTF-16 code units, 32-bit wrap). */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition whose leader coordinates `groupId` (Kafka's Utils.abs(hash) % n). */
export function coordinatorPartition(groupId: string, offsetsPartitions: number): number {
  const h = javaStringHash(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % offsetsPartitions;
}
