/**
 * Analytics reads: builds SQL from validated requests (integers and enum members only) and
 * shapes ClickHouse's rows into the API's series. No HTTP here; the routes call these.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { AppError } from '../kernel/errors.ts';
import type {
  LatencyPoint,
  LatencyRequest,
  LatencySeries,
  Percentiles,
  ThroughputRequest,
  ThroughputSeries,
  Window,
} from './model.ts';
import { DATABASE_NAME_PATTERN, LATENCY_ROLLUP_TABLE, SESSION_EVENTS_TABLE } from '../kernel/clickhouse/tables.ts';

/** The part of the ClickHouse client the reads need (a stub can stand in for it in unit tests). */
export type AnalyticsQueryClient = Pick<ClickHouseClient, 'query'>;

export interface AnalyticsStore {
  readonly client: AnalyticsQueryClient;
  readonly database: string;
}

export function assertDatabaseName(database: string): string {
  if (!DATABASE_NAME_PATTERN.test(database)) {
    throw new AppError('CONFIG_INVALID', `Not a ClickHouse database name: ${JSON.stringify(database)}`);
  }
  return database;
}

const int = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new AppError('INTERNAL', `not an integer: ${n}`);
  return String(n);
};

/** `AND outcome = '...'` for a value already checked against the outcome enum. */
const outcomeFilter = (outcome: string | undefined): string =>
  outcome === undefined ? '' : `AND outcome = '${outcome.replace(/[^a-z]/g, '')}'`;

export function latencySql(database: string, req: LatencyRequest): string {
  const step = int(req.stepSec);
  return `SELECT
    toUInt32(intDiv(toUInt32(minute), ${step}) * ${step}) AS t,
    countMerge(events) AS n,
    quantilesMerge(0.5, 0.95, 0.99)(duration_ms_q) AS duration,
    quantilesMerge(0.5, 0.95, 0.99)(api_to_analytics_lag_ms_q) AS pipeline_lag,
    quantilesMerge(0.5, 0.95, 0.99)(client_to_api_lag_ms_q) AS client_lag
FROM ${assertDatabaseName(database)}.${LATENCY_ROLLUP_TABLE}
WHERE minute >= toDateTime(${int(req.fromSec)}) AND minute < toDateTime(${int(req.toSec)}) ${outcomeFilter(req.outcome)}
GROUP BY t
ORDER BY t`;
}

export function throughputSql(database: string, req: ThroughputRequest): string {
  const step = int(req.stepSec);
  // uniqExact(event_id): a redelivered event that is not merged away yet is counted once.
  return `SELECT toUInt32(intDiv(toUInt32(received_at), ${step}) * ${step}) AS t, uniqExact(event_id) AS n
FROM ${assertDatabaseName(database)}.${SESSION_EVENTS_TABLE}
WHERE received_at >= toDateTime(${int(req.fromSec)}) AND received_at < toDateTime(${int(req.toSec)})
GROUP BY t
ORDER BY t`;
}

export function lastSeenSql(database: string, window: Window): string {
  return `SELECT count() AS n, toUInt32(max(received_at)) AS received, toUInt32(max(ingested_at)) AS ingested
FROM ${assertDatabaseName(database)}.${SESSION_EVENTS_TABLE}
WHERE received_at >= toDateTime(${int(window.fromSec)}) AND received_at < toDateTime(${int(window.toSec)})`;
}

async function rows<T>(store: AnalyticsStore, query: string): Promise<T[]> {
  try {
    const result = await store.client.query({
      query,
      format: 'JSONEachRow',
      // 64-bit integers as JSON numbers (counts stay far below 2^53).
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return await result.json<T>();
  } catch (error) {
    throw new AppError('STORE_UNAVAILABLE', 'The analytics store did not answer the query.', { cause: error });
  }
}

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString();
const num = (v: unknown): number | null => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n * 1000) / 1000 : null;
};

type QuantileRow = readonly unknown[];
const p3 = (q: QuantileRow): Required<Percentiles> => ({ p50: num(q[0]), p95: num(q[1]), p99: num(q[2]) });
const p2 = (q: QuantileRow): Percentiles => ({ p50: num(q[0]), p99: num(q[2]) });

interface LatencyRow {
  t: number;
  n: number | string;
  duration: QuantileRow;
  pipeline_lag: QuantileRow;
  client_lag: QuantileRow;
}

/** Percentile series from the per-minute rollup (approximate quantiles; counts deliveries). */
export async function queryLatency(store: AnalyticsStore, req: LatencyRequest): Promise<LatencySeries> {
  const result = await rows<LatencyRow>(store, latencySql(store.database, req));
  const points = result.map(
    (r): LatencyPoint => ({
      t: iso(Number(r.t)),
      count: Number(r.n),
      durationMs: p3(r.duration),
      pipelineLagMs: p2(r.pipeline_lag),
      clientLagMs: p2(r.client_lag),
    }),
  );
  return { from: iso(req.fromSec), to: iso(req.toSec), step: req.step, outcome: req.outcome ?? null, points };
}

/** Accepted events per bucket by receivedAt (distinct event ids), zero-filled. */
export async function queryThroughput(store: AnalyticsStore, req: ThroughputRequest): Promise<ThroughputSeries> {
  const [series, last] = await Promise.all([
    rows<{ t: number; n: number | string }>(store, throughputSql(store.database, req)),
    rows<{ n: number | string; received: number; ingested: number }>(store, lastSeenSql(store.database, req)),
  ]);
  const byBucket = new Map(series.map((r) => [Number(r.t), Number(r.n)]));
  const points = [];
  for (let t = req.fromSec; t < req.toSec; t += req.stepSec) {
    const events = byBucket.get(t) ?? 0;
    points.push({ t: iso(t), events, eventsPerSecond: Math.round((events / req.stepSec) * 1000) / 1000 });
  }
  const seen = last[0] !== undefined && Number(last[0].n) > 0 ? last[0] : undefined;
  return {
    from: iso(req.fromSec),
    to: iso(req.toSec),
    step: req.step,
    points,
    lastReceivedAt: seen ? iso(Number(seen.received)) : null,
    lastIngestedAt: seen ? iso(Number(seen.ingested)) : null,
  };
}
