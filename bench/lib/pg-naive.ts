/**
 * The naive way to keep the same read model, for the benchmark's baseline only: one
 * transaction per event, one INSERT .. ON CONFLICT for the session (same guard), then that
 * user's stats recomputed. Same result as the batch writer for the benchmark's data.
 */
import type pg from 'pg';
import { toSessionRow } from '../../consumers/postgres/projection.ts';
import { USER_STATS_COLUMNS, USER_STATS_FROM_SESSIONS } from '../../consumers/postgres/store-sql.ts';
import type { SessionCompleted } from '../../src/kernel/events/session-completed.ts';

const UPSERT_ONE = `
INSERT INTO sessions AS s (session_id, event_id, user_id, started_at, completed_at, duration_ms, score, outcome,
                           attributes, received_at, projected_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
ON CONFLICT (session_id) DO UPDATE SET
  event_id = EXCLUDED.event_id, user_id = EXCLUDED.user_id, started_at = EXCLUDED.started_at,
  completed_at = EXCLUDED.completed_at, duration_ms = EXCLUDED.duration_ms, score = EXCLUDED.score,
  outcome = EXCLUDED.outcome, attributes = EXCLUDED.attributes, received_at = EXCLUDED.received_at,
  projected_at = EXCLUDED.projected_at
WHERE (s.completed_at, s.event_id) < (EXCLUDED.completed_at, EXCLUDED.event_id)
RETURNING s.user_id`;

const COLUMNS = USER_STATS_COLUMNS.join(', ');
const RECOMPUTE_ONE = `
INSERT INTO user_stats AS u (${COLUMNS}, updated_at)
SELECT a.*, now() FROM (${USER_STATS_FROM_SESSIONS}) a WHERE a.user_id = $1
ON CONFLICT (user_id) DO UPDATE SET
${USER_STATS_COLUMNS.filter((c) => c !== 'user_id').map((c) => `  ${c} = EXCLUDED.${c}`).join(',\n')},
  updated_at = EXCLUDED.updated_at`;

export async function naivePerEventWrite(client: pg.ClientBase, event: SessionCompleted): Promise<void> {
  const r = toSessionRow(event);
  await client.query('BEGIN');
  try {
    const written = await client.query(UPSERT_ONE, [
      r.sessionId, r.eventId, r.userId, r.startedAt, r.completedAt, r.durationMs, r.score, r.outcome,
      JSON.stringify(r.attributes), r.receivedAt,
    ]);
    if ((written.rowCount ?? 0) > 0) await client.query(RECOMPUTE_ONE, [r.userId]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}
