/**
 * What the benchmark reads back from the stores and the broker after a scenario: freshness
 * percentiles, a snapshot of the read models for the exactness check, consumer lag from Kafka,
 * and the consumers' own freshness histograms.
 */
import type pg from 'pg';
import type { ClickHouseClient } from '../../src/kernel/clickhouse/client.ts';
import type { ReadModelSnapshot } from './exactness.ts';
import type { ApiInternals, StoreFreshness } from './results.ts';
import { histogramQuantileUpperBound, parsePrometheusHistogram } from './stats.ts';

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const safe = (name: string) => {
  if (!SCHEMA.test(name)) throw new Error(`not a plain schema/database name: ${name}`);
  return name;
};
const r1 = (x: unknown) => (x === null || x === undefined ? null : Math.round(Number(x) * 10) / 10);

/**
 * Postgres freshness over the rows received since `sinceMs`: projected_at (the start of the
 * consumer's write transaction, Postgres clock) - received_at (the API's clock when it took the
 * request, before the broker ack). Nearest-rank percentiles (percentile_disc).
 */
export async function postgresFreshness(pgc: pg.ClientBase, schema: string, sinceMs: number): Promise<Omit<StoreFreshness, 'toCommitP50UpperS' | 'toCommitP99UpperS'>> {
  const r = await pgc.query<{ n: number; p50: number | null; p99: number | null; mx: number | null }>(
    `SELECT count(*)::int AS n,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_disc(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            max(ms) AS mx
     FROM (SELECT extract(epoch FROM projected_at - received_at) * 1000 AS ms
           FROM ${safe(schema)}.sessions WHERE received_at >= to_timestamp($1::float8 / 1000)) x`,
    [sinceMs],
  );
  const row = r.rows[0];
  return { count: row?.n ?? 0, p50Ms: r1(row?.p50), p99Ms: r1(row?.p99), maxMs: r1(row?.mx) };
}

/**
 * ClickHouse freshness over events received since `sinceMs` (second resolution: received_at is
 * a DateTime): api_to_analytics_lag_ms of each event's first delivery (min over its copies).
 */
export async function clickhouseFreshness(
  ch: ClickHouseClient,
  database: string,
  sinceMs: number,
): Promise<Omit<StoreFreshness, 'toCommitP50UpperS' | 'toCommitP99UpperS'> & { deliveries: number }> {
  const since = Math.ceil(sinceMs / 1000);
  const db = safe(database);
  const r = await ch.query({
    query: `SELECT count() AS n, quantilesExact(0.5, 0.99)(lag) AS q, max(lag) AS mx, sum(copies) AS deliveries
            FROM (SELECT event_id, min(api_to_analytics_lag_ms) AS lag, count() AS copies
                  FROM ${db}.session_events WHERE received_at >= toDateTime(${since}) GROUP BY event_id)`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const [row] = await r.json<{ n: number; q: number[]; mx: number; deliveries: number }>();
  const n = Number(row?.n ?? 0);
  return {
    count: n,
    p50Ms: n > 0 ? r1(row?.q[0]) : null,
    p99Ms: n > 0 ? r1(row?.q[1]) : null,
    maxMs: n > 0 ? r1(row?.mx) : null,
    deliveries: Number(row?.deliveries ?? 0),
  };
}

export async function readModelSnapshot(pgc: pg.ClientBase, ch: ClickHouseClient, store: string): Promise<ReadModelSnapshot> {
  const s = safe(store);
  const ids = await pgc.query<{ id: string }>(`SELECT event_id::text AS id FROM ${s}.sessions`);
  const stats = await pgc.query<{ user_id: string; n: string }>(`SELECT user_id, sessions_completed::text AS n FROM ${s}.user_stats`);
  const chIds = await ch.query({ query: `SELECT DISTINCT toString(event_id) AS id FROM ${s}.session_events`, format: 'JSONEachRow' });
  const chCount = await ch.query({ query: `SELECT count() AS n FROM ${s}.session_events`, format: 'JSONEachRow' });
  return {
    postgresEventIds: new Set(ids.rows.map((r) => r.id)),
    postgresUserStats: new Map(stats.rows.map((r) => [r.user_id, Number(r.n)])),
    clickhouseEventIds: new Set((await chIds.json<{ id: string }>()).map((r) => r.id)),
    clickhouseDeliveries: Number((await chCount.json<{ n: string }>())[0]?.n ?? 0),
  };
}

/** receivedAt -> offset commit, from a consumer's /metrics (bucket upper bounds, seconds). */
export async function consumerFreshnessHistogram(metricsUrl: string): Promise<{ p50: number | null; p99: number | null }> {
  try {
    const text = await (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const buckets = parsePrometheusHistogram(text, 'consumer_freshness_seconds');
    return { p50: histogramQuantileUpperBound(buckets, 0.5), p99: histogramQuantileUpperBound(buckets, 0.99) };
  } catch {
    return { p50: null, p99: null };
  }
}

/** Server-side figures from the API's /metrics (see ApiInternals); undefined if unreachable. */
export async function apiInternals(apiUrl: string): Promise<ApiInternals | undefined> {
  try {
    const text = await (await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const req = parsePrometheusHistogram(text, 'http_request_duration_seconds', (l) => l.includes('method="POST"'));
    const ack = parsePrometheusHistogram(text, 'producer_ack_latency_seconds');
    const batch = parsePrometheusHistogram(text, 'producer_batch_events');
    return {
      requestP50UpperS: histogramQuantileUpperBound(req, 0.5),
      requestP99UpperS: histogramQuantileUpperBound(req, 0.99),
      ackP50UpperS: histogramQuantileUpperBound(ack, 0.5),
      ackP99UpperS: histogramQuantileUpperBound(ack, 0.99),
      batchEventsP50Upper: histogramQuantileUpperBound(batch, 0.5),
      batches: batch[batch.length - 1]?.count ?? 0,
    };
  } catch {
    return undefined;
  }
}
