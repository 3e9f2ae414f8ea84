/**
 * Synthetic read-model data for the EXPLAIN test, scripts/explain.ts and the benchmark: rows
 * generated deterministically, COPYed straight into `sessions` (no upsert: the schema is fresh),
 * `user_stats` filled with the same aggregate the writer uses, then ANALYZE.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { STAGING_COLUMNS, csvChunks } from '../../consumers/postgres/copy-csv.ts';
import type { SessionRow } from '../../consumers/postgres/projection.ts';
import { USER_STATS_COLUMNS, USER_STATS_FROM_SESSIONS } from '../../consumers/postgres/store-sql.ts';
import { OUTCOMES } from '../../src/kernel/events/session-completed.ts';

export interface SeedShape {
  readonly sessions: number;
  /** Users share sessions round-robin, except that user `u-heavy` gets `heavyUserSessions`. */
  readonly users: number;
  readonly heavyUserSessions?: number;
  readonly seed?: number;
}

/** A stable, hex-looking uuid (v4 layout) from a number. */
export function uuidFrom(n: number, salt = 0): string {
  const h = (n >>> 0).toString(16).padStart(8, '0') + ((salt >>> 0) % 0xffff).toString(16).padStart(4, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4000-8000-${(n * 2654435761 >>> 0).toString(16).padStart(12, '0')}`;
}

export function* syntheticRows(shape: SeedShape): Generator<SessionRow> {
  let state = shape.seed ?? 42;
  const rnd = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const heavy = shape.heavyUserSessions ?? 0;
  for (let i = 0; i < shape.sessions; i++) {
    const completed = t0 + Math.floor(rnd() * 90 * 86_400_000);
    const duration = 1_000 + Math.floor(rnd() * 3_600_000);
    yield {
      sessionId: `sess-${i}`,
      eventId: uuidFrom(i, 1),
      userId: i < heavy ? 'u-heavy' : `u-${i % shape.users}`,
      startedAt: new Date(completed - duration).toISOString(),
      completedAt: new Date(completed).toISOString(),
      durationMs: duration,
      score: rnd() < 0.1 ? null : Math.round(rnd() * 10_000) / 100,
      outcome: OUTCOMES[Math.floor(rnd() * OUTCOMES.length)]!,
      attributes: { level: Math.floor(rnd() * 50), mode: rnd() < 0.5 ? 'ranked' : 'casual' },
      receivedAt: new Date(completed + 50).toISOString(),
    };
  }
}

/** COPY the rows into `sessions` of the connection's search_path, fill user_stats, ANALYZE. */
export async function seedReadModel(client: pg.ClientBase, shape: SeedShape): Promise<{ sessions: number; ms: number }> {
  const t0 = performance.now();
  const rows = [...syntheticRows(shape)];
  const copy = client.query(copyFrom(`COPY sessions (${STAGING_COLUMNS.join(', ')}) FROM STDIN (FORMAT csv)`));
  await pipeline(Readable.from(csvChunks(rows)), copy);
  await client.query(`INSERT INTO user_stats (${USER_STATS_COLUMNS.join(', ')}) SELECT * FROM (${USER_STATS_FROM_SESSIONS}) agg`);
  await client.query('ANALYZE sessions');
  await client.query('ANALYZE user_stats');
  return { sessions: rows.length, ms: performance.now() - t0 };
}
