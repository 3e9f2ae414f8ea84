/**
 * Read-model queries behind the read routes. Takes a pg Pool (anything with `query`), never the
 * request context; returns plain JSON-ready values, or undefined for "no such thing" (the route
 * decides that is a 404).
 */
import type { Pool } from 'pg';
import type { Outcome } from '../kernel/events/session-completed.ts';
import type { SessionView, UserStats } from '../kernel/read-model.ts';
import { encodeCursor, type ListRequest } from './model.ts';
import { READ_QUERIES } from './queries.ts';

export type { SessionView, UserStats };

export type Queryable = Pick<Pool, 'query'>;

/** A user's stats as the API returns them: the row, with when it last changed. */
export interface UserStatsView extends UserStats {
  readonly updatedAt: string;
}

export interface SessionPage {
  readonly userId: string;
  readonly items: readonly SessionView[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

interface SessionRecord {
  session_id: string;
  user_id: string;
  event_id: string;
  started_at: Date;
  completed_at: Date;
  duration_ms: number;
  score: number | null;
  outcome: Outcome;
  attributes: Record<string, string | number | boolean>;
  received_at: Date;
  projected_at: Date;
}

interface StatsRecord {
  user_id: string;
  sessions_completed: number;
  total_duration_ms: number;
  avg_duration_ms: number;
  best_score: number | null;
  avg_score: number | null;
  scored_sessions: number;
  completed_count: number;
  failed_count: number;
  abandoned_count: number;
  last_completed_at: Date;
  updated_at: Date;
}

const toSessionView = (r: SessionRecord): SessionView => ({
  sessionId: r.session_id,
  userId: r.user_id,
  eventId: r.event_id,
  startedAt: r.started_at.toISOString(),
  completedAt: r.completed_at.toISOString(),
  durationMs: r.duration_ms,
  score: r.score,
  outcome: r.outcome,
  attributes: r.attributes,
  receivedAt: r.received_at.toISOString(),
  projectedAt: r.projected_at.toISOString(),
});

export async function getSession(db: Queryable, sessionId: string): Promise<SessionView | undefined> {
  const q = READ_QUERIES.sessionById;
  const { rows } = await db.query<SessionRecord>({ name: q.name, text: q.text, values: [sessionId] });
  return rows[0] && toSessionView(rows[0]);
}

export async function getUserStats(db: Queryable, userId: string): Promise<UserStatsView | undefined> {
  const q = READ_QUERIES.userStats;
  const { rows } = await db.query<StatsRecord>({ name: q.name, text: q.text, values: [userId] });
  const r = rows[0];
  if (!r) return undefined;
  return {
    userId: r.user_id,
    sessionsCompleted: r.sessions_completed,
    totalDurationMs: r.total_duration_ms,
    avgDurationMs: r.avg_duration_ms,
    bestScore: r.best_score,
    avgScore: r.avg_score,
    scoredSessions: r.scored_sessions,
    outcomes: { completed: r.completed_count, failed: r.failed_count, abandoned: r.abandoned_count },
    lastCompletedAt: r.last_completed_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/**
 * One page of a user's sessions, newest first. Reads one row more than asked to know whether
 * another page exists. Undefined when the user has no session at all (404), so an empty page
 * only ever means "past the last page".
 */
export async function listUserSessions(db: Queryable, req: ListRequest): Promise<SessionPage | undefined> {
  const { userId, limit, before } = req;
  const q = before === undefined ? READ_QUERIES.userSessionsFirstPage : READ_QUERIES.userSessionsBefore;
  const values = before === undefined ? [userId, limit + 1] : [userId, before.completedAt, before.sessionId, limit + 1];
  const { rows } = await db.query<SessionRecord>({ name: q.name, text: q.text, values });
  // No row: either past the last page, or no such user (user_stats has a row iff sessions do).
  if (rows.length === 0 && (await getUserStats(db, userId)) === undefined) return undefined;
  const items = rows.slice(0, limit).map(toSessionView);
  const last = items[items.length - 1];
  const nextCursor =
    rows.length > limit && last !== undefined ? encodeCursor({ completedAt: last.completedAt, sessionId: last.sessionId }) : null;
  return { userId, items, nextCursor };
}
