/** Builds valid SessionCompleted events for the ClickHouse tests (unit, int, e2e, bench). */
import { EVENT_TYPE, EVENT_VERSION, type Outcome, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';

export interface EventSpec {
  readonly id?: string;
  readonly sessionId?: string;
  readonly userId?: string;
  readonly outcome?: Outcome;
  readonly score?: number;
  /** Instant the API received it, ms since epoch. */
  readonly receivedAtMs: number;
  readonly durationMs: number;
  /** receivedAt - completedAt. */
  readonly clientLagMs?: number;
}

export function makeEvent(spec: EventSpec): SessionCompleted {
  const receivedAt = spec.receivedAtMs;
  const completedAt = receivedAt - (spec.clientLagMs ?? 0);
  const startedAt = completedAt - spec.durationMs;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: spec.id ?? crypto.randomUUID(),
    type: EVENT_TYPE,
    version: EVENT_VERSION,
    occurredAt: iso(completedAt),
    receivedAt: iso(receivedAt),
    data: {
      sessionId: spec.sessionId ?? `s-${Math.random().toString(36).slice(2, 10)}`,
      userId: spec.userId ?? 'user-1',
      startedAt: iso(startedAt),
      completedAt: iso(completedAt),
      outcome: spec.outcome ?? 'completed',
      ...(spec.score === undefined ? {} : { score: spec.score }),
    },
  };
}
