/**
 * The Postgres projection: SessionCompleted events -> `sessions` rows. Pure: no database, no
 * clock (projected_at is the database's transaction time, set by the writer).
 *
 * Within a batch the same session may appear several times (a redelivery, a re-completion);
 * only the latest by (completedAt, eventId) survives, the same order the upsert's guard uses,
 * so the batch and the table agree on which event wins.
 */
import { durationMs, type Outcome, type SessionCompleted } from '../../src/kernel/events/session-completed.ts';

export interface SessionRow {
  readonly sessionId: string;
  /** Lower-case, so string order equals Postgres uuid order. */
  readonly eventId: string;
  readonly userId: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly startedAt: string;
  readonly completedAt: string;
  readonly durationMs: number;
  readonly score: number | null;
  readonly outcome: Outcome;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly receivedAt: string;
}

export function toSessionRow(event: SessionCompleted): SessionRow {
  const { data } = event;
  return {
    sessionId: data.sessionId,
    eventId: event.id.toLowerCase(),
    userId: data.userId,
    startedAt: data.startedAt,
    completedAt: data.completedAt,
    durationMs: durationMs(data),
    score: data.score ?? null,
    outcome: data.outcome,
    attributes: data.attributes ?? {},
    receivedAt: event.receivedAt,
  };
}

/**
 * The version order of a session: by completedAt, then eventId. Negative when `a` is older.
 * ISO strings of the same format (UTC, milliseconds) compare correctly as strings.
 */
export function compareVersions(a: Pick<SessionRow, 'completedAt' | 'eventId'>, b: Pick<SessionRow, 'completedAt' | 'eventId'>): number {
  if (a.completedAt !== b.completedAt) return a.completedAt < b.completedAt ? -1 : 1;
  if (a.eventId !== b.eventId) return a.eventId < b.eventId ? -1 : 1;
  return 0;
}

/** Rows for one batch: one per session, the latest version of each. Order: by session id. */
export function projectBatch(events: readonly SessionCompleted[]): SessionRow[] {
  const latest = new Map<string, SessionRow>();
  for (const event of events) {
    const row = toSessionRow(event);
    const current = latest.get(row.sessionId);
    if (current === undefined || compareVersions(current, row) < 0) latest.set(row.sessionId, row);
  }
  return [...latest.values()].sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0));
}

/**
 * Applies rows to an in-memory `sessions` table with the same rule as the upsert (a row replaces
 * the stored one only if strictly newer). The reference model the integration tests compare the
 * database against; returns the ids of the sessions that changed.
 */
export function applyRows(table: Map<string, SessionRow>, rows: readonly SessionRow[]): string[] {
  const changed: string[] = [];
  for (const row of rows) {
    const current = table.get(row.sessionId);
    if (current === undefined || compareVersions(current, row) < 0) {
      table.set(row.sessionId, row);
      changed.push(row.sessionId);
    }
  }
  return changed;
}
