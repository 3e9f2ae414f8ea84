/**
 * The one builder of valid SessionCompleted events for the tests (unit, int, e2e, fault). Every
 * field has a default; instants are given as ISO strings or ms since the epoch, whichever the
 * test has at hand. The time line, when only some of it is given:
 *   completedAt = given, else receivedAt - clientLagMs, else now - 60 s
 *   startedAt   = given, else completedAt - durationMs (60 s unless given)
 *   receivedAt  = given, else completedAt + clientLagMs (0 unless given)
 */
import type { Outcome, SessionCompleted } from '../../src/kernel/events/session-completed.ts';

export interface EventSpec {
  readonly id?: string;
  readonly sessionId?: string;
  readonly userId?: string;
  readonly outcome?: Outcome;
  /** Omitted from the event when undefined or null. */
  readonly score?: number | null;
  readonly attributes?: Record<string, string | number | boolean>;
  readonly completedAt?: string | number;
  readonly startedAt?: string | number;
  readonly durationMs?: number;
  /** The instant the API received it. */
  readonly receivedAt?: string | number;
  /** receivedAt - completedAt. */
  readonly clientLagMs?: number;
  /** 2 makes a v2 event (with `clientVersion` when given). */
  readonly version?: 1 | 2;
  readonly clientVersion?: string;
}

const ms = (t: string | number) => (typeof t === 'number' ? t : Date.parse(t));
const iso = (t: number) => new Date(t).toISOString();

export function makeEvent(spec: EventSpec = {}): SessionCompleted {
  const lag = spec.clientLagMs ?? 0;
  const completedAt =
    spec.completedAt !== undefined ? ms(spec.completedAt) : spec.receivedAt !== undefined ? ms(spec.receivedAt) - lag : Date.now() - 60_000;
  const startedAt = spec.startedAt !== undefined ? ms(spec.startedAt) : completedAt - (spec.durationMs ?? 60_000);
  const receivedAt = spec.receivedAt !== undefined ? ms(spec.receivedAt) : completedAt + lag;
  return {
    id: spec.id ?? crypto.randomUUID(),
    type: 'SessionCompleted',
    version: spec.version ?? 1,
    occurredAt: iso(completedAt),
    receivedAt: iso(receivedAt),
    data: {
      sessionId: spec.sessionId ?? `s-${crypto.randomUUID().slice(0, 8)}`,
      userId: spec.userId ?? 'user-1',
      startedAt: iso(startedAt),
      completedAt: iso(completedAt),
      outcome: spec.outcome ?? 'completed',
      ...(spec.score === undefined || spec.score === null ? {} : { score: spec.score }),
      ...(spec.attributes ? { attributes: spec.attributes } : {}),
      ...(spec.version === 2 && spec.clientVersion !== undefined ? { clientVersion: spec.clientVersion } : {}),
    },
  };
}
