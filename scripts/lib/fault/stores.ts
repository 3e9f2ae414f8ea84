/**
 * What the fault harness reads back from the private stack: consumer-group lag on the topic, the
 * Postgres read model, and ClickHouse's raw events (as stored, and after dedupe).
 */
import { createClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import pg from 'pg';
import type { Config } from '../../../src/kernel/config.ts';
import { createKafka } from '../../../src/kernel/kafka/client.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';

export interface GroupLag {
  readonly group: string;
  /** Sum over partitions of high watermark minus committed offset (low watermark if none). */
  readonly lag: number;
}

/** A Kafka admin for lag reads; connect once, close when done. */
export function lagReader(config: Config): { read(): Promise<{ high: string; groups: GroupLag[] }>; close(): Promise<void> } {
  const admin: Admin = createKafka(config, silentLogger(), '-fault-lag').admin();
  let connected: Promise<void> | undefined;
  const groups = [config.PG_CONSUMER_GROUP, config.CH_CONSUMER_GROUP];
  return {
    async read() {
      connected ??= admin.connect().catch((e: unknown) => {
        connected = undefined;
        throw e;
      });
      await connected;
      const offsets = await admin.fetchTopicOffsets(config.KAFKA_TOPIC);
      const high = offsets.map((o) => `${o.partition}:${o.high}`).sort().join(',');
      const out: GroupLag[] = [];
      for (const group of groups) {
        const [entry] = await admin.fetchOffsets({ groupId: group, topics: [config.KAFKA_TOPIC] });
        const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        let lag = 0n;
        for (const o of offsets) {
          const c = committed.get(o.partition) ?? -1n;
          const from = c < 0n ? BigInt(o.low) : c;
          if (BigInt(o.high) > from) lag += BigInt(o.high) - from;
        }
        out.push({ group, lag: Number(lag) });
      }
      return { high, groups: out };
    },
    async close() {
      if (connected) await admin.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Waits until both groups have committed up to the high watermarks, and the watermarks did not
 * move for `quietMs` (a producer retry may still land a late batch). Returns the wait in ms.
 */
export async function waitForZeroLag(config: Config, timeoutMs: number, quietMs = 5_000): Promise<number> {
  const reader = lagReader(config);
  const started = Date.now();
  let last: Awaited<ReturnType<typeof reader.read>> | undefined;
  let zeroSince: { at: number; high: string } | undefined;
  try {
    while (Date.now() - started < timeoutMs) {
      try {
        last = await reader.read();
      } catch {
        await Bun.sleep(500);
        continue;
      }
      const zero = last.groups.every((g) => g.lag === 0);
      if (!zero) zeroSince = undefined;
      else if (zeroSince === undefined || zeroSince.high !== last.high) zeroSince = { at: Date.now(), high: last.high };
      else if (Date.now() - zeroSince.at >= quietMs) return Date.now() - started;
      await Bun.sleep(500);
    }
  } finally {
    await reader.close();
  }
  throw new Error(`consumer lag did not reach zero within ${timeoutMs} ms (last: ${JSON.stringify(last?.groups)})`);
}

export interface PostgresState {
  /** session_id -> event_id of the row */
  readonly sessions: Map<string, string>;
  /** Users whose user_stats row differs from a recompute over `sessions` (with the first few). */
  readonly statsMismatches: number;
  readonly statsExamples: readonly unknown[];
  readonly users: number;
}

/**
 * user_stats recomputed from `sessions` here, independently of the consumer's SQL, and compared
 * column by column: exact for counts, sums, best score and instants; averages to 1e-9 relative.
 */
const STATS_DIFF = `
WITH agg AS (
  SELECT user_id,
         count(*) AS sessions_completed,
         sum(duration_ms) AS total_duration_ms,
         max(score) AS best_score,
         count(score) AS scored_sessions,
         coalesce(sum(score::numeric), 0) AS score_sum,
         count(*) FILTER (WHERE outcome = 'completed') AS completed_count,
         count(*) FILTER (WHERE outcome = 'failed') AS failed_count,
         count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned_count,
         max(completed_at) AS last_completed_at
  FROM sessions GROUP BY user_id
)
SELECT coalesce(a.user_id, u.user_id) AS user_id, row_to_json(a) AS expected, row_to_json(u) AS actual
FROM agg a FULL JOIN user_stats u ON u.user_id = a.user_id
WHERE a.user_id IS NULL OR u.user_id IS NULL
   OR a.sessions_completed <> u.sessions_completed
   OR a.total_duration_ms <> u.total_duration_ms
   OR a.best_score IS DISTINCT FROM u.best_score
   OR a.scored_sessions <> u.scored_sessions
   OR a.score_sum <> u.score_sum
   OR a.completed_count <> u.completed_count
   OR a.failed_count <> u.failed_count
   OR a.abandoned_count <> u.abandoned_count
   OR a.last_completed_at <> u.last_completed_at
   OR abs(u.avg_duration_ms - a.total_duration_ms::float8 / a.sessions_completed) > 1e-9 * greatest(1, abs(u.avg_duration_ms))
   OR (a.scored_sessions = 0) <> (u.avg_score IS NULL)
   OR (a.scored_sessions > 0 AND abs(u.avg_score - (a.score_sum / a.scored_sessions)::float8) > 1e-9 * greatest(1, abs(u.avg_score)))
`;

export async function readPostgres(config: Config): Promise<PostgresState> {
  const client = new pg.Client({ connectionString: config.DATABASE_URL, application_name: 'fault-verify' });
  await client.connect();
  try {
    const rows = await client.query<{ session_id: string; event_id: string }>('SELECT session_id, event_id::text AS event_id FROM sessions');
    const sessions = new Map(rows.rows.map((r) => [r.session_id, r.event_id]));
    const diff = await client.query(STATS_DIFF);
    const users = await client.query<{ n: string }>('SELECT count(*) AS n FROM user_stats');
    return { sessions, statsMismatches: diff.rowCount ?? 0, statsExamples: diff.rows.slice(0, 3), users: Number(users.rows[0]?.n ?? 0) };
  } finally {
    await client.end();
  }
}

export interface ClickHouseState {
  /** event_id -> rows as stored (deliveries; merges may not have collapsed redeliveries yet) */
  readonly raw: Map<string, number>;
  /** event_id -> rows after dedupe (FINAL), only for ids with more than one */
  readonly finalDuplicates: Map<string, number>;
  /** Of those, the ids whose copies carry different received_at (so no merge can collapse them). */
  readonly finalDuplicatesWithDifferentReceivedAt: number;
  /** Ids with two rows under the same (received_at, event_id) even after FINAL: dedupe itself failed. */
  readonly finalDuplicatesSameKey: ReadonlySet<string>;
  /**
   * Rows ever inserted, from the per-minute rollup (its materialized view sees every insert, so
   * redeliveries that merges have since collapsed still count): minus distinct events = redeliveries.
   */
  readonly deliveries: number;
}

export async function readClickHouse(config: Config): Promise<ClickHouseState> {
  const client = createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    request_timeout: 120_000,
    clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000' },
  });
  const db = config.CLICKHOUSE_DATABASE;
  try {
    const raw = new Map<string, number>();
    const rs = await client.query({ query: `SELECT toString(event_id) AS id, count() AS n FROM ${db}.session_events GROUP BY event_id`, format: 'JSONEachRow' });
    for (const r of await rs.json<{ id: string; n: string | number }>()) raw.set(r.id, Number(r.n));
    const finalDuplicates = new Map<string, number>();
    const fs = await client.query({
      query: `SELECT toString(event_id) AS id, count() AS n, uniqExact(received_at) AS r FROM ${db}.session_events FINAL GROUP BY event_id HAVING n > 1`,
      format: 'JSONEachRow',
    });
    let differentReceivedAt = 0;
    const sameKey = new Set<string>();
    for (const r of await fs.json<{ id: string; n: string | number; r: string | number }>()) {
      finalDuplicates.set(r.id, Number(r.n));
      if (Number(r.r) > 1) differentReceivedAt += 1;
      if (Number(r.n) > Number(r.r)) sameKey.add(r.id);
    }
    const rollup = await client.query({ query: `SELECT countMerge(events) AS n FROM ${db}.session_latency_1m`, format: 'JSONEachRow' });
    const deliveries = Number((await rollup.json<{ n: string | number }>())[0]?.n ?? 0);
    return { raw, finalDuplicates, finalDuplicatesWithDifferentReceivedAt: differentReceivedAt, finalDuplicatesSameKey: sameKey, deliveries };
  } finally {
    await client.close();
  }
}
