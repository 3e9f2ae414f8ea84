/**
 * The shape of a benchmark run's results (written as results.json; documented in
 * docs/performance.md) and the pure computations over it: ratios against the baselines and the
 * goals of issue 6. Nothing here measures anything, so all of it is unit-tested.
 */

import { runCost } from './cost.ts';
import type { LatencyWindow } from './stats.ts';

export const RESULTS_SCHEMA_VERSION = 1;

export type SystemId = 'api' | 'bare' | 'sync-pg' | 'node-kafkajs';
export type BaselineId = Exclude<SystemId, 'api'>;
export const BASELINES: readonly BaselineId[] = ['bare', 'sync-pg', 'node-kafkajs'];

export const SYSTEM_LABELS: Readonly<Record<SystemId, string>> = {
  api: 'API (Bun + Elysia, group commit to Kafka)',
  bare: '(a) bare Bun.serve 202',
  'sync-pg': '(b) sync Postgres per request',
  'node-kafkajs': '(c) Node + Fastify + kafkajs send per request',
};
export const SYSTEM_SHORT: Readonly<Record<SystemId, string>> = {
  api: 'API',
  bare: 'bare',
  'sync-pg': 'sync-pg',
  'node-kafkajs': 'node-kafkajs',
};

export type LoadAvg = readonly [number, number, number];

export interface LoadFigures {
  readonly tool: 'oha' | 'loadgen';
  readonly connections: number;
  /** Paced rate asked for; null for a closed-loop (as fast as possible) run. */
  readonly targetRps: number | null;
  readonly durationS: number;
  /** Answers received, whatever their status. */
  readonly requests: number;
  /** Answers that are correct for the request sent (2xx for valid ones, 422 for invalid ones). */
  readonly okRequests: number;
  readonly rps: number;
  readonly okRps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Latency measured from the scheduled send time (paced runs), not from the actual send. */
  readonly latencyCorrected: boolean;
  readonly statuses: Readonly<Record<string, number>>;
  readonly transportErrors: Readonly<Record<string, number>>;
  /** Valid requests that did not get a 2xx answer (including transport errors). */
  readonly validNon2xx: number;
  /** Latency by window of the run (2xx answers only), where the scenario asks for it (seed). */
  readonly timeline?: readonly LatencyWindow[];
  /** The same over the unmeasured warm-up right before the run: a freshly started system. */
  readonly warmupTimeline?: readonly LatencyWindow[];
}

export interface ResourceFigures {
  /** user + system CPU seconds used during the run (children that exited included). */
  readonly cpuSeconds: number;
  /** Highest sum of VmRSS over the process and its descendants, sampled every 250 ms. */
  readonly peakRssMb: number;
  /** Highest sum of proportional set size (shared pages split between sharers); null if unreadable. */
  readonly peakPssMb: number | null;
  /** Most processes seen in the tree at once. */
  readonly processes: number;
  /** CPU seconds per window of the run, where the scenario asks for a timeline (seed). */
  readonly cpuByWindow?: readonly number[];
}

/**
 * What the API's own /metrics said after the run (histogram bucket upper bounds, since the
 * process started: warm-up included): where the time went, server side.
 */
export interface ApiInternals {
  /** Server-side duration of POST requests (both write routes), seconds. */
  readonly requestP50UpperS: number | null;
  readonly requestP99UpperS: number | null;
  /** sendBatch -> broker acknowledgement (acks=all), seconds. */
  readonly ackP50UpperS: number | null;
  readonly ackP99UpperS: number | null;
  /** Events per group-commit batch. */
  readonly batchEventsP50Upper: number | null;
  readonly batches: number;
}

export interface SystemRun {
  readonly system: SystemId;
  readonly startedAt: string;
  readonly load: LoadFigures;
  /** Only for the API. */
  readonly apiInternals?: ApiInternals;
  /** By process group: api, consumer-postgres, consumer-clickhouse, kafka, postgres, clickhouse, bare, sync-pg, node-kafkajs, load-tool. */
  readonly resources: Readonly<Record<string, ResourceFigures>>;
  /** Length of the resource watch in seconds when it differs from the load's (idle, or a drain after the load). */
  readonly windowS?: number;
  /** The broker's CPU seconds by thread name over the window (top few), when the system uses the broker. */
  readonly brokerThreads?: Readonly<Record<string, number>>;
  readonly loadAvg: { readonly before: LoadAvg; readonly after: LoadAvg };
}

/** API figure divided by the baseline's: > 1 means the API has more of it. */
export interface Ratio {
  readonly okRps: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface StoreFreshness {
  /** Rows (Postgres) or distinct events (ClickHouse) the percentiles are over. */
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** From the consumer's own histogram (receivedAt -> offset commit): bucket upper bounds, seconds. */
  readonly toCommitP50UpperS: number | null;
  readonly toCommitP99UpperS: number | null;
}

export interface FreshnessResult {
  readonly postgres: StoreFreshness;
  readonly clickhouse: StoreFreshness & { readonly deliveries: number };
}

export interface LagDrainResult {
  /** From the end of the load to committed offset = high watermark on every partition; null if not reached by the deadline. */
  readonly postgresMs: number | null;
  readonly clickhouseMs: number | null;
  readonly bothMs: number | null;
  readonly deadlineMs: number;
  readonly maxLagDuringLoad: { readonly postgres: number; readonly clickhouse: number };
  /** Lag sampled about once a second during the load and the drain: t in ms from the load's start. */
  readonly samples: ReadonlyArray<{ readonly tMs: number; readonly postgres: number; readonly clickhouse: number }>;
  /** What GET /analytics/consumer-lag of the API said once both reached zero (cross-check). */
  readonly apiSaid?: unknown;
}

export interface ExactnessResult {
  readonly ok: boolean;
  /** Distinct event ids the API answered 202 (or accepted in a batch) for. */
  readonly acceptedEvents: number;
  readonly postgres: {
    readonly rowsWithAcceptedIds: number;
    readonly rowsTotal: number;
    readonly userStatsSessionsSum: number;
    readonly usersExpected: number;
    readonly usersWithWrongCount: number;
  };
  readonly clickhouse: { readonly uniqExactAcceptedIds: number; readonly uniqExactTotal: number; readonly deliveries: number };
  readonly retries: { readonly sent: number; readonly sameEventId: number; readonly differentEventId: number };
  readonly invalid: { readonly sent: number; readonly answered422: number; readonly answeredOther: Readonly<Record<string, number>> };
  readonly batches: { readonly sent: number; readonly itemsAccepted: number; readonly itemsRejected: number; readonly itemsWrong: number };
  readonly problems: readonly string[];
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly runs: readonly SystemRun[];
  readonly ratios: Readonly<Partial<Record<BaselineId, Ratio>>>;
  readonly freshness?: FreshnessResult;
  readonly lagDrain?: LagDrainResult;
  readonly exactness?: ExactnessResult;
  /** Figures of scenarios that are not HTTP load (the replay benchmarks): their own JSON. */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly notes: readonly string[];
}

export interface GoalResult {
  readonly id: string;
  readonly goal: string;
  readonly measured: string;
  /** null when the scenarios that measure it were not run. */
  readonly met: boolean | null;
  /** How far from the target, when missed. */
  readonly shortfall?: string;
}

export interface Machine {
  readonly cpus: number;
  readonly memGb: number;
  readonly os: string;
  readonly kernel: string;
  readonly bun: string;
  readonly node: string | null;
  readonly oha: string;
}

export interface BenchResults {
  readonly schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  readonly command: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly loadAvg: { readonly before: LoadAvg; readonly after: LoadAvg };
  /** Settings the figures depend on (partitions, linger, batch sizes, API workers). */
  readonly settings: Readonly<Record<string, string | number>>;
  readonly scenarios: readonly ScenarioResult[];
  readonly goals: readonly GoalResult[];
}

/** The highest 1-minute load average seen at the start or end of the run or of any system's measured run. */
export function peakLoad(results: Pick<BenchResults, 'loadAvg' | 'scenarios'>): number {
  let peak = Math.max(results.loadAvg.before[0], results.loadAvg.after[0]);
  for (const s of results.scenarios) for (const r of s.runs) peak = Math.max(peak, r.loadAvg.before[0], r.loadAvg.after[0]);
  return peak;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const div = (a: number | undefined, b: number | undefined): number | null =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : r2(a / b);

/** API / baseline for each baseline present in the runs. */
export function computeRatios(runs: readonly SystemRun[]): Partial<Record<BaselineId, Ratio>> {
  const api = runs.find((r) => r.system === 'api');
  const out: Partial<Record<BaselineId, Ratio>> = {};
  if (!api) return out;
  for (const b of BASELINES) {
    const base = runs.find((r) => r.system === b);
    if (!base) continue;
    out[b] = {
      okRps: div(api.load.okRps, base.load.okRps),
      p50: div(api.load.p50Ms, base.load.p50Ms),
      p99: div(api.load.p99Ms, base.load.p99Ms),
    };
  }
  return out;
}

const run = (s: ScenarioResult, system: SystemId) => s.runs.find((r) => r.system === system);
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** The closed-loop scenarios ("max-*"): the best figure of a system over them. */
function bestOkRps(scenarios: readonly ScenarioResult[], system: SystemId): { okRps: number; scenario: string } | undefined {
  let best: { okRps: number; scenario: string } | undefined;
  for (const s of scenarios.filter((x) => x.id.startsWith('max-'))) {
    const r = run(s, system);
    if (r && (!best || r.load.okRps > best.okRps)) best = { okRps: r.load.okRps, scenario: s.id };
  }
  return best;
}

function ratioGoal(id: string, goal: string, api: ReturnType<typeof bestOkRps>, base: ReturnType<typeof bestOkRps>, target: number): GoalResult {
  if (!api || !base || base.okRps === 0) return { id, goal, measured: 'not measured', met: null };
  const ratio = api.okRps / base.okRps;
  const measured = `${r2(ratio)}x (API ${fmt(api.okRps)} req/s at ${api.scenario}, baseline ${fmt(base.okRps)} req/s at ${base.scenario})`;
  if (ratio >= target) return { id, goal, measured, met: true };
  const needed = base.okRps * target;
  return {
    id,
    goal,
    measured,
    met: false,
    shortfall: `missed by ${r2(target - ratio)}x: needs ${fmt(Math.ceil(needed))} req/s, ${fmt(Math.ceil(needed - api.okRps))} more (${Math.round((1 - ratio / target) * 100)}% short)`,
  };
}

function underGoal(id: string, goal: string, value: number | null | undefined, limit: number, unit: string, what: string): GoalResult {
  if (value === null || value === undefined || !Number.isFinite(value)) return { id, goal, measured: 'not measured', met: null };
  const measured = `${fmt(value)} ${unit}${what ? ` (${what})` : ''}`;
  return value < limit
    ? { id, goal, measured, met: true }
    : { id, goal, measured, met: false, shortfall: `over by ${fmt(r2(value - limit))} ${unit} (${Math.round((value / limit - 1) * 100)}% over)` };
}

/** Issue 11's goals: cost and latency at the seed's 333 req/s, and the idle cost. */
export function costGoals(scenarios: readonly ScenarioResult[]): GoalResult[] {
  const seed = scenarios.find((s) => s.id === 'seed');
  const idle = scenarios.find((s) => s.id === 'idle');
  const seedApi = seed ? run(seed, 'api') : undefined;
  const seedSync = seed ? run(seed, 'sync-pg') : undefined;
  const idleApi = idle ? run(idle, 'api') : undefined;
  const apiCost = seedApi ? runCost(seedApi) : undefined;
  const syncCost = seedSync ? runCost(seedSync) : undefined;
  const out: GoalResult[] = [
    underGoal('cost-seed-cores', 'at 333 req/s the whole pipeline (API, broker, both consumers, both stores) uses <= 0.25 core', apiCost?.total.cores, 0.2500001, 'core', apiCost ? `${apiCost.total.msPerEvent} CPU ms/event` : ''),
  ];
  if (!apiCost || !syncCost || syncCost.total.cpuSeconds === 0) {
    out.push({ id: 'cost-seed-vs-sync-pg', goal: 'at 333 req/s, at most half the CPU of baseline (b) with its Postgres', measured: 'not measured', met: null });
  } else {
    const ratio = r2(apiCost.total.cpuSeconds / syncCost.total.cpuSeconds);
    const measured = `${ratio}x (API ${fmt(apiCost.total.cpuSeconds)} CPU s, sync-pg ${fmt(syncCost.total.cpuSeconds)} CPU s)`;
    out.push(
      ratio <= 0.5
        ? { id: 'cost-seed-vs-sync-pg', goal: 'at 333 req/s, at most half the CPU of baseline (b) with its Postgres', measured, met: true }
        : { id: 'cost-seed-vs-sync-pg', goal: 'at 333 req/s, at most half the CPU of baseline (b) with its Postgres', measured, met: false, shortfall: `${r2(ratio / 0.5)}x the allowed CPU` },
    );
  }
  out.push(
    underGoal('seed-p99', 'at 333 req/s with both consumers: p99 <= 10 ms (latency-corrected)', seedApi?.load.p99Ms, 10.0000001, 'ms', ''),
    underGoal('seed-p999', 'at 333 req/s with both consumers: p99.9 <= 25 ms (latency-corrected)', seedApi?.load.p999Ms, 25.0000001, 'ms', ''),
    underGoal('freshness-seed-postgres', 'freshness p99 < 1 s into Postgres at 333 req/s', seed?.freshness?.postgres.p99Ms, 1_000, 'ms', ''),
    underGoal('freshness-seed-clickhouse', 'freshness p99 < 2 s into ClickHouse at 333 req/s', seed?.freshness?.clickhouse.p99Ms, 2_000, 'ms', ''),
    underGoal('idle-cores', 'no traffic: API, broker, both consumers and both stores together <= 0.05 core', idleApi ? runCost(idleApi).total.cores : undefined, 0.0500001, 'core', ''),
  );
  return out;
}

/** Issue 6's goals, evaluated on whatever scenarios ran. */
export function evaluateGoals(scenarios: readonly ScenarioResult[]): GoalResult[] {
  const apiBest = bestOkRps(scenarios, 'api');
  const goals: GoalResult[] = [
    ratioGoal('ingest-vs-bare', 'durable ingest >= 0.35x the bare Bun.serve ceiling (best closed-loop run of each)', apiBest, bestOkRps(scenarios, 'bare'), 0.35),
    ratioGoal('ingest-vs-sync-pg', 'durable ingest >= 10x baseline (b), sync Postgres per request', apiBest, bestOkRps(scenarios, 'sync-pg'), 10),
  ];

  const apiRuns = scenarios.flatMap((s) => (run(s, 'api') ? [{ s, r: run(s, 'api')! }] : []));
  if (apiRuns.length === 0) goals.push({ id: 'no-non-2xx', goal: 'zero non-2xx answers to valid requests, every scenario', measured: 'not measured', met: null });
  else {
    const bad = apiRuns.filter(({ r }) => r.load.validNon2xx > 0);
    const total = bad.reduce((a, { r }) => a + r.load.validNon2xx, 0);
    goals.push({
      id: 'no-non-2xx',
      goal: 'zero non-2xx answers to valid requests, every scenario',
      measured: bad.length === 0 ? `0 in ${apiRuns.length} scenarios` : `${fmt(total)} (${bad.map(({ s, r }) => `${s.id}: ${fmt(r.load.validNon2xx)}`).join(', ')})`,
      met: bad.length === 0,
      ...(bad.length === 0 ? {} : { shortfall: `${fmt(total)} valid requests refused or failed` }),
    });
  }

  const steady = scenarios.find((s) => s.freshness !== undefined && s.id === 'steady');
  const steadyApi = steady ? run(steady, 'api') : undefined;
  const achieved = steadyApi?.load.okRps ?? 0;
  const target = steadyApi?.load.targetRps ?? 0;
  const at = steady ? `at ${fmt(achieved)} req/s achieved` : '';
  // A freshness figure only counts at the rate the goal names: below 95% of it the goal is
  // missed, whatever the freshness at the lower rate was.
  const rateMissed = steadyApi !== undefined && target > 0 && achieved < 0.95 * target;
  const atRate = (g: GoalResult): GoalResult =>
    !rateMissed || g.met === null
      ? g
      : {
          ...g,
          met: false,
          shortfall: `the API sustained ${fmt(achieved)} of ${fmt(target)} req/s (${Math.round((1 - achieved / target) * 100)}% short; latency-corrected p50 ${fmt(steadyApi!.load.p50Ms)} ms)${g.met ? '' : `; ${g.shortfall}`}`,
        };
  goals.push(
    atRate(underGoal('freshness-postgres', 'freshness p99 < 1 s into Postgres at 5,000 req/s', steady?.freshness?.postgres.p99Ms, 1_000, 'ms', at)),
    atRate(underGoal('freshness-clickhouse', 'freshness p99 < 2 s into ClickHouse at 5,000 req/s', steady?.freshness?.clickhouse.p99Ms, 2_000, 'ms', at)),
  );

  let peak: { mb: number; scenario: string } | undefined;
  for (const { s, r } of apiRuns) {
    const mb = r.resources.api?.peakRssMb;
    if (mb !== undefined && (!peak || mb > peak.mb)) peak = { mb, scenario: s.id };
  }
  goals.push(underGoal('api-rss', 'API RSS < 200 MB at peak', peak?.mb, 200, 'MB', peak ? `peak in ${peak.scenario}` : ''));

  goals.push(...costGoals(scenarios));

  // Not one of the issue's numeric goals, but a correctness check no run may fail quietly.
  const exact = scenarios.filter((s) => s.exactness !== undefined);
  goals.push(
    exact.length === 0
      ? { id: 'read-model-exact', goal: 'read models count exactly the distinct accepted events (realistic traffic)', measured: 'not measured', met: null }
      : {
          id: 'read-model-exact',
          goal: 'read models count exactly the distinct accepted events (realistic traffic)',
          measured: exact
            .map((s) => `${s.id}: ${fmt(s.exactness!.acceptedEvents)} accepted, ${s.exactness!.ok ? 'exact' : `MISMATCH (${s.exactness!.problems.join('; ')})`}`)
            .join(', '),
          met: exact.every((s) => s.exactness!.ok),
          ...(exact.every((s) => s.exactness!.ok) ? {} : { shortfall: 'see the problems listed' }),
        },
  );
  return goals;
}
