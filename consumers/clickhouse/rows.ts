/**
 * The projection of SessionCompleted events onto rows of `session_events`: a pure function,
 * tested without a database. Instants go out as unix seconds (18.16 parses neither ISO `T`/`Z`
 * without best_effort, nor DateTime64); millisecond quantities are precomputed differences of
 * the ms-precise ISO strings, so no precision is lost where it matters.
 */
import { durationMs, type SessionCompleted } from '../../src/kernel/events/session-completed.ts';

export interface SessionEventRow {
  readonly event_id: string;
  readonly session_id: string;
  readonly user_id: string;
  readonly outcome: string;
  readonly score: number | null;
  readonly duration_ms: number;
  /** Unix seconds (floored), for DateTime('UTC') columns. */
  readonly started_at: number;
  readonly completed_at: number;
  readonly received_at: number;
  readonly ingested_at: number;
  /** The writer's clock in ms: decides which copy of a redelivered event the table keeps (the first). */
  readonly ingested_at_ms: number;
  /** receivedAt - completedAt: client clock to API clock; negative when the client clock runs ahead. */
  readonly client_to_api_lag_ms: number;
  /** ingestedAt - receivedAt: API accepted it -> the analytics store got it. */
  readonly api_to_analytics_lag_ms: number;
}

const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** One row for one event; `ingestedAtMs` is the writer's clock when it wrote the batch. */
export function toSessionEventRow(event: SessionCompleted, ingestedAtMs: number): SessionEventRow {
  const { data } = event;
  const startedMs = Date.parse(data.startedAt);
  const completedMs = Date.parse(data.completedAt);
  const receivedMs = Date.parse(event.receivedAt);
  return {
    event_id: event.id,
    session_id: data.sessionId,
    user_id: data.userId,
    outcome: data.outcome,
    score: data.score ?? null,
    duration_ms: durationMs(data),
    started_at: unixSeconds(startedMs),
    completed_at: unixSeconds(completedMs),
    received_at: unixSeconds(receivedMs),
    ingested_at: unixSeconds(ingestedAtMs),
    ingested_at_ms: ingestedAtMs,
    client_to_api_lag_ms: receivedMs - completedMs,
    api_to_analytics_lag_ms: ingestedAtMs - receivedMs,
  };
}

/** Rows for a batch, all stamped with the same ingestion instant. */
export function toSessionEventRows(
  events: readonly SessionCompleted[],
  ingestedAtMs: number,
): SessionEventRow[] {
  const rows = new Array<SessionEventRow>(events.length);
  for (let i = 0; i < events.length; i++) rows[i] = toSessionEventRow(events[i]!, ingestedAtMs);
  return rows;
}
