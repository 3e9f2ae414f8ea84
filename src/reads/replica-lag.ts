/**
 * How far the read routes' database is behind the primary, for /metrics: when READ_DATABASE_URL
 * points the read routes at a streaming standby, a session a client just wrote (202) shows there
 * only after the consumer committed it on the primary AND the standby replayed it. This gauge is
 * the second part. 0 on the primary itself, and on a standby that has replayed all it received
 * (pg_last_xact_replay_timestamp alone would grow while nothing is written); -1 when the query
 * failed (the database is down).
 */
import type { Pool } from 'pg';
import { Gauge } from 'prom-client';

const LAG_SQL = `SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
END::float8 AS lag, pg_is_in_recovery() AS standby`;

export function readReplicaLagMetrics(pool: Pool, timeoutMs = 1_000): Gauge[] {
  // One query per scrape, shared by both gauges (prom-client collects them concurrently).
  let shared: Promise<{ lag: number; standby: number }> | undefined;
  const sample = () =>
    (shared ??= Promise.race([
      pool.query<{ lag: number; standby: boolean }>(LAG_SQL).then((r) => ({ lag: Number(r.rows[0]?.lag ?? -1), standby: r.rows[0]?.standby ? 1 : 0 })),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs)),
    ])
      .catch(() => ({ lag: -1, standby: -1 }))
      .finally(() => setTimeout(() => (shared = undefined), 0)));
  return [
    new Gauge({
      name: 'read_database_replication_lag_seconds',
      help: "Replay lag of the read routes' database behind the primary (0 on the primary or when caught up; -1: query failed).",
      registers: [],
      async collect() {
        this.set((await sample()).lag);
      },
    }),
    new Gauge({
      name: 'read_database_is_standby',
      help: '1 when the read routes query a standby (READ_DATABASE_URL), 0 on the primary, -1 when the query failed.',
      registers: [],
      async collect() {
        this.set((await sample()).standby);
      },
    }),
  ];
}
