/**
 * Shared helpers of the Postgres integration tests: a fresh schema per test file (created from
 * the migration files, dropped by the cleanup the caller registers) and a snapshot of the read
 * model to compare with the pure reference model.
 */
import type pg from 'pg';
import { createPgPool } from '../../../src/kernel/postgres/pool.ts';
import { applyRows, projectBatch, type SessionRow } from '../../../consumers/postgres/projection.ts';
import { createReadModelSchema, dropSchema, scratchSchemaName } from '../../../consumers/postgres/schema.ts';
import { allUserStats, type UserStats } from '../../../consumers/postgres/stats.ts';
import { USER_STATS_FROM_SESSIONS } from '../../../consumers/postgres/store-sql.ts';
import { loadConfig } from '../../../src/kernel/config.ts';
import type { SessionCompleted } from '../../../src/kernel/events/session-completed.ts';

export const config = loadConfig(process.env);

export interface ScratchDb {
  readonly schema: string;
  /** A pool whose connections see only the scratch schema. */
  readonly pool: pg.Pool;
  cleanup(): Promise<void>;
}

export async function createScratchDb(prefix: string, poolMax = 4): Promise<ScratchDb> {
  const schema = scratchSchemaName(prefix);
  const admin = createPgPool(config, { max: 1, applicationName: 'test-admin' });
  const client = await admin.connect();
  try {
    await createReadModelSchema(client, schema);
  } finally {
    client.release();
  }
  const pool = createPgPool(config, { max: poolMax, searchPath: schema, applicationName: `test-${prefix}` });
  return {
    schema,
    pool,
    async cleanup() {
      await pool.end();
      const c = await admin.connect();
      try {
        await dropSchema(c, schema);
      } finally {
        c.release();
        await admin.end();
      }
    },
  };
}

export interface Snapshot {
  readonly sessions: Map<string, SessionRow>;
  readonly stats: Map<string, UserStats>;
}

const iso = (d: Date) => d.toISOString();

export async function readSnapshot(pool: pg.Pool): Promise<Snapshot> {
  const s = await pool.query(
    `SELECT session_id, event_id::text, user_id, started_at, completed_at, duration_ms::float8 AS duration_ms,
            score, outcome, attributes, received_at FROM sessions`,
  );
  const sessions = new Map<string, SessionRow>();
  for (const r of s.rows) {
    sessions.set(r.session_id, {
      sessionId: r.session_id,
      eventId: r.event_id,
      userId: r.user_id,
      startedAt: iso(r.started_at),
      completedAt: iso(r.completed_at),
      durationMs: r.duration_ms,
      score: r.score,
      outcome: r.outcome,
      attributes: r.attributes,
      receivedAt: iso(r.received_at),
    });
  }
  const u = await pool.query(`SELECT * FROM user_stats`);
  const stats = new Map<string, UserStats>();
  for (const r of u.rows) stats.set(r.user_id, statsFromRow(r));
  return { sessions, stats };
}

/** The aggregate computed now from `sessions`, in the same shape (user_stats must equal it). */
export async function aggregateFromSessions(pool: pg.Pool): Promise<Map<string, UserStats>> {
  const u = await pool.query(USER_STATS_FROM_SESSIONS);
  return new Map(u.rows.map((r) => [r.user_id, statsFromRow(r)]));
}

function statsFromRow(r: Record<string, unknown>): UserStats {
  return {
    userId: r.user_id as string,
    sessionsCompleted: Number(r.sessions_completed),
    totalDurationMs: Number(r.total_duration_ms),
    avgDurationMs: Number(r.avg_duration_ms),
    bestScore: r.best_score === null ? null : Number(r.best_score),
    avgScore: r.avg_score === null ? null : Number(r.avg_score),
    scoredSessions: Number(r.scored_sessions),
    outcomes: {
      completed: Number(r.completed_count),
      failed: Number(r.failed_count),
      abandoned: Number(r.abandoned_count),
    },
    lastCompletedAt: iso(r.last_completed_at as Date),
  };
}

/** The pure reference model after applying `batches` in order. */
export function referenceModel(batches: ReadonlyArray<readonly SessionCompleted[]>): Snapshot {
  const sessions = new Map<string, SessionRow>();
  for (const batch of batches) applyRows(sessions, projectBatch(batch));
  return { sessions, stats: allUserStats(sessions) };
}

/** Averages are floating point in both; compare them to 9 significant digits, the rest exactly. */
export function roundStats(stats: Map<string, UserStats>): Record<string, unknown> {
  const round = (n: number | null) => (n === null ? null : Number(n.toPrecision(9)));
  return Object.fromEntries(
    [...stats.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, s]) => [k, { ...s, avgDurationMs: round(s.avgDurationMs), avgScore: round(s.avgScore) }]),
  );
}
