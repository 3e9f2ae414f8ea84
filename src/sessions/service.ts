/**
 * The write path's logic, free of HTTP and Kafka: validate what the client sent, build the
 * SessionCompleted event, and hand it to the publisher port. The clock and id source are
 * injected, so the same input always gives the same event in tests.
 */
import { v5 as uuidv5 } from 'uuid';
import type { z } from 'zod';
import { AppError, type FieldIssue, ValidationError } from '../kernel/errors.ts';
import {
  EVENT_TYPE,
  EVENT_VERSION,
  encodeSessionCompleted,
  type EventMessage,
  requestHashOf,
  type SessionCompleted,
  type SessionCompletedData,
} from '../kernel/events/session-completed.ts';
import {
  type BatchItem as BatchItemT,
  BatchBody,
  BatchItem,
  CompleteSessionBody,
  IdempotencyKey,
  SessionParams,
} from './model.ts';
import { instantMs, isoOf } from './instants.ts';
import type { RecentRequestKeys } from './recent-keys.ts';

/**
 * Namespace of the UUIDv5 event ids derived from Idempotency-Keys. Never change it: doing so
 * would give retried requests new event ids and defeat deduplication downstream.
 */
export const IDEMPOTENCY_NAMESPACE = '6f0d3c39-6d4f-4b7e-9a57-3c1f0c3b9a51';

/** The id of the event a request with this key makes: scoped to the session, stable forever. */
export const eventIdFromIdempotencyKey = (sessionId: string, key: string): string =>
  uuidv5(`${sessionId}\n${key}`, IDEMPOTENCY_NAMESPACE);

export interface SessionDeps {
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** A new time-ordered event id (UUIDv7). */
  readonly newEventId: () => string;
  readonly maxClockSkewMs: number;
  /**
   * Recent Idempotency-Keys of this process (recent-keys.ts): when given, a key reused with a
   * different body within its memory is refused (422 IDEMPOTENCY_KEY_REUSED). Best effort.
   */
  readonly recentKeys?: RecentRequestKeys;
}

/** What a client that reused its key is told (the single route's 422 and a batch item's issue). */
export const KEY_REUSED_MESSAGE =
  'IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used for this session with a different request; the first request stands. Use a new key for a new request.';

/** The publisher port: resolves once the event is durably on the topic. */
export interface EventPublisher {
  append(message: EventMessage): Promise<void>;
  /**
   * Why any append would be refused right now (broker down, shutting down), if it would: asked
   * before a body is read, so such a refusal costs no parsing or validation.
   */
  refusal?(): AppError | undefined;
}

/** Throws the publisher's standing refusal, if it has one (see `EventPublisher.refusal`). */
export function assertAccepting(publisher: EventPublisher): void {
  const refused = publisher.refusal?.();
  if (refused !== undefined) throw refused;
}

/** Flattens zod issues into `path: message` pairs, one per offending field. */
export function issuesOf(error: z.ZodError, prefix: string): FieldIssue[] {
  const join = (path: readonly PropertyKey[]): string =>
    [prefix, ...path.map(String)].filter(Boolean).join('.') || '(root)';
  return error.issues.flatMap((issue): FieldIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: join([...issue.path, key]), message: 'is not a known field' }));
    }
    if (issue.code === 'invalid_key') {
      const inner = issue.issues[0]?.message;
      return [{ path: join(issue.path), message: `invalid key${inner ? `: ${inner}` : ''}` }];
    }
    return [{ path: join(issue.path), message: issue.message }];
  });
}

interface Completion {
  readonly sessionId: string;
  readonly idempotencyKey: string | undefined;
  readonly body: Omit<BatchItemT, 'sessionId' | 'idempotencyKey'>;
}

/** Builds the event for a validated completion. Pure given deps. */
export function buildEvent(c: Completion, deps: SessionDeps): SessionCompleted {
  const receivedAt = isoOf(deps.now());
  const { sessionId, idempotencyKey } = c;
  const { userId, startedAt, completedAt, score, outcome, attributes } = c.body;
  // Literals per case rather than spreads of `{}`: the same keys in the same order (so the same
  // event JSON), without two throwaway objects per request.
  const data: { -readonly [K in keyof SessionCompletedData]: SessionCompletedData[K] } =
    score === undefined
      ? { sessionId, userId, startedAt, completedAt, outcome }
      : { sessionId, userId, startedAt, completedAt, score, outcome };
  if (attributes !== undefined) data.attributes = attributes;
  const occurredAt = completedAt;
  if (idempotencyKey === undefined) {
    return { id: deps.newEventId(), type: EVENT_TYPE, version: EVENT_VERSION, occurredAt, receivedAt, data };
  }
  // Only a keyed event can meet another request with its id: it says what this one asked for.
  const id = eventIdFromIdempotencyKey(sessionId, idempotencyKey);
  return { id, type: EVENT_TYPE, version: EVENT_VERSION, occurredAt, receivedAt, requestHash: requestHashOf(data), data };
}

/** True when this process recently built the event's id from a request that asked for something else. */
function keyReused(event: SessionCompleted, deps: SessionDeps): boolean {
  if (deps.recentKeys === undefined || event.requestHash === undefined) return false;
  return deps.recentKeys.check(event.id, event.requestHash, deps.now()) === 'conflict';
}

/** completedAt may run ahead of our clock by the allowed skew, not more. */
function futureIssue(completedAt: string, deps: SessionDeps, path: string): FieldIssue | undefined {
  if (instantMs(completedAt) <= deps.now() + deps.maxClockSkewMs) return undefined;
  return { path, message: `must not be more than ${Math.round(deps.maxClockSkewMs / 1000)} s in the future` };
}

/**
 * Validates the single-completion request (path, header and body together, so the client sees
 * every problem at once) and returns the event to publish, or throws a ValidationError.
 */
export function parseCompletion(
  input: { params: unknown; body: unknown; idempotencyKey: string | null | undefined },
  deps: SessionDeps,
): SessionCompleted {
  const issues: FieldIssue[] = [];
  const params = SessionParams.safeParse(input.params);
  if (!params.success) issues.push(...issuesOf(params.error, 'params'));
  const key = input.idempotencyKey == null ? undefined : IdempotencyKey.safeParse(input.idempotencyKey);
  if (key && !key.success) issues.push(...issuesOf(key.error, 'headers.idempotency-key'));
  const body = CompleteSessionBody.safeParse(input.body);
  if (!body.success) issues.push(...issuesOf(body.error, 'body'));
  else {
    const future = futureIssue(body.data.completedAt, deps, 'body.completedAt');
    if (future) issues.push(future);
  }
  if (issues.length > 0 || !params.success || !body.success) throw new ValidationError(issues);
  const event = buildEvent({ sessionId: params.data.sessionId, idempotencyKey: key?.data, body: body.data }, deps);
  if (keyReused(event, deps)) throw new AppError('IDEMPOTENCY_KEY_REUSED', KEY_REUSED_MESSAGE, { details: { eventId: event.id } });
  return event;
}

export type BatchItemOutcome =
  | { readonly index: number; readonly ok: true; readonly event: SessionCompleted }
  | { readonly index: number; readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * Validates a batch: the envelope as a whole (a bad envelope is a ValidationError), then each
 * item on its own, so a valid item is never refused because a sibling was invalid.
 */
export function parseBatch(body: unknown, deps: SessionDeps): BatchItemOutcome[] {
  const envelope = BatchBody.safeParse(body);
  if (!envelope.success) throw new ValidationError(issuesOf(envelope.error, 'body'));
  return envelope.data.items.map((raw, index): BatchItemOutcome => {
    const item = BatchItem.safeParse(raw);
    if (!item.success) return { index, ok: false, issues: issuesOf(item.error, '') };
    const future = futureIssue(item.data.completedAt, deps, 'completedAt');
    if (future) return { index, ok: false, issues: [future] };
    const { sessionId, idempotencyKey, ...rest } = item.data;
    const event = buildEvent({ sessionId, idempotencyKey, body: rest }, deps);
    if (keyReused(event, deps)) return { index, ok: false, issues: [{ path: 'idempotencyKey', message: KEY_REUSED_MESSAGE }] };
    return { index, ok: true, event };
  });
}

/** Publishes one event; resolves when it is durably on the topic. */
export const publish = (publisher: EventPublisher, event: SessionCompleted): Promise<void> =>
  publisher.append(encodeSessionCompleted(event));
