/**
 * Write-path routes: POST /sessions/:sessionId/complete and the batch POST /sessions/complete.
 * Each route declares its scope and contract (src/http/contract.ts); the handlers translate HTTP
 * to the service and back, and the app's one error mapper turns thrown AppErrors into
 * problem+json.
 */
import { Elysia } from 'elysia';
import { isAppError } from '../kernel/errors.ts';
import type { SessionCompleted } from '../kernel/events/session-completed.ts';
import { chargeEvents } from '../http/auth.ts';
import { readJsonBody } from '../http/body.ts';
import { routeContract } from '../http/contract.ts';
import type { ApiMetrics } from '../http/metrics.ts';
import { MAX_ISSUES_PER_ITEM, MAX_ISSUES_PER_RESPONSE, limitIssues } from '../http/problem.ts';
import { Accepted, BatchResponse, CompleteSessionBody, CompletionHeaders, DocumentedBatchBody, SessionParams } from './model.ts';
import { type EventPublisher, type SessionDeps, assertAccepting, parseBatch, parseCompletion, publish } from './service.ts';

export interface SessionRoutesDeps {
  readonly publisher: EventPublisher;
  readonly session: SessionDeps;
  readonly bodyLimitBytes: number;
  readonly batchBodyLimitBytes: number;
  readonly retryAfterSeconds: number;
  readonly metrics: ApiMetrics;
}

/** The reason label of events_rejected_total for a failure. */
const reasonOf = (error: unknown): string => (isAppError(error) ? error.code.toLowerCase() : 'internal');

const WRITE_PROBLEMS = {
  422: 'Validation failed: `issues` lists each failing field (`params.sessionId`, `headers.idempotency-key`, `body.*`) and why; or IDEMPOTENCY_KEY_REUSED: this process saw the key recently with a different body (best effort)',
  503: 'Buffer full (OVERLOADED), the broker did not acknowledge in time (BROKER_TIMEOUT) or is unreachable (BROKER_UNAVAILABLE: refused before the body is read, with a Retry-After that grows while the outage lasts), or draining: retry after Retry-After seconds with the same Idempotency-Key',
} as const;

export function createSessionRoutes(deps: SessionRoutesDeps) {
  const { metrics } = deps;
  /** Counts a failure of `events` events by reason and rethrows it, for the app's one error mapper. */
  const rejected = (error: unknown, events = 1): never => {
    metrics.eventsRejected.inc({ reason: reasonOf(error) }, events);
    throw error;
  };
  /** Runs `work`, counting its failure (see `rejected`). */
  const counted = async <T>(work: () => Promise<T>, events = 1): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      return rejected(error, events);
    }
  };
  /**
   * Both write routes' parser. While the broker is down every write is refused anyway: say so
   * before reading the body. One async function with its own catch, like the single route's
   * handler: each `counted(async () => ...)` layer was another closure, promise and await per
   * request on the hottest path.
   */
  const parseWrite = async (request: Request, limitBytes: number): Promise<unknown> => {
    try {
      assertAccepting(deps.publisher);
      return await readJsonBody(request, limitBytes);
    } catch (error) {
      return rejected(error);
    }
  };
  return new Elysia({ name: 'sessions' })
    .use(routeContract)
    .post(
      '/sessions/:sessionId/complete',
      async ({ params, body, request, set }) => {
        let event: SessionCompleted;
        try {
          event = parseCompletion({ params, body, idempotencyKey: request.headers.get('idempotency-key') }, deps.session);
          await publish(deps.publisher, event);
        } catch (error) {
          return rejected(error);
        }
        metrics.eventsAccepted.inc();
        set.status = 202;
        return { eventId: event.id, sessionId: event.data.sessionId, status: 'accepted' as const };
      },
      {
        parse: ({ request }) => parseWrite(request, deps.bodyLimitBytes),
        auth: 'ingest',
        contract: {
          summary: 'Complete a session: appends SessionCompleted to Kafka, answers 202 once the broker has it (acks=all)',
          tags: ['write'],
          params: SessionParams,
          headers: CompletionHeaders,
          body: { schema: CompleteSessionBody, maxBytes: deps.bodyLimitBytes },
          responses: { 202: { description: 'Durably accepted: the event is on the topic', schema: Accepted } },
          problems: WRITE_PROBLEMS,
        },
      },
    )
    .post(
      '/sessions/complete',
      async ({ body, request, set }) => {
        const outcomes = await counted(async () => parseBatch(body, deps.session));
        // One token of the key's rate per event: the request paid for its first item.
        await counted(async () => chargeEvents(request, outcomes.length), outcomes.length);
        let issueBudget = MAX_ISSUES_PER_RESPONSE;
        const results = await Promise.all(
          outcomes.map(async (o) => {
            if (!o.ok) {
              metrics.eventsRejected.inc({ reason: 'validation_failed' });
              const { issues, omitted } = limitIssues(o.issues, Math.min(MAX_ISSUES_PER_ITEM, issueBudget));
              issueBudget -= issues.length;
              return { index: o.index, status: 'rejected' as const, issues, ...(omitted > 0 ? { issuesOmitted: omitted } : {}) };
            }
            try {
              await publish(deps.publisher, o.event);
              metrics.eventsAccepted.inc();
              return {
                index: o.index,
                status: 'accepted' as const,
                eventId: o.event.id,
                sessionId: o.event.data.sessionId,
              };
            } catch (error) {
              metrics.eventsRejected.inc({ reason: reasonOf(error) });
              return {
                index: o.index,
                status: 'failed' as const,
                code: isAppError(error) ? error.code : 'INTERNAL',
                detail: isAppError(error) ? error.message : 'An unexpected error occurred.',
              };
            }
          }),
        );
        const count = (s: string) => results.filter((r) => r.status === s).length;
        const summary = { accepted: count('accepted'), rejected: count('rejected'), failed: count('failed') };
        // 202 when every item is on the topic; 207 when the caller must look item by item.
        set.status = summary.accepted === results.length ? 202 : 207;
        if (summary.failed > 0) set.headers['retry-after'] = String(deps.retryAfterSeconds);
        return { ...summary, results };
      },
      {
        parse: ({ request }) => parseWrite(request, deps.batchBodyLimitBytes),
        auth: 'ingest',
        contract: {
          summary: 'Complete up to 500 sessions; one result per item (202 all accepted, 207 otherwise)',
          description:
            'Each item is validated on its own: a valid item is never refused because a sibling was invalid; an invalid one comes back ' +
            `\`rejected\` with its issues (at most ${MAX_ISSUES_PER_ITEM} per item and ${MAX_ISSUES_PER_RESPONSE} per answer, the rest counted in ` +
            '`issuesOmitted`). The key\'s rate is charged one token per item.',
          tags: ['write'],
          body: { schema: DocumentedBatchBody, maxBytes: deps.batchBodyLimitBytes },
          responses: {
            202: { description: 'Every item accepted', schema: BatchResponse },
            207: { description: 'Some items rejected (issues) or failed (retry them after Retry-After)', schema: BatchResponse },
          },
          problems: {
            422: 'The envelope is invalid (not an object with 1-500 items)',
            503: 'The broker is unreachable (BROKER_UNAVAILABLE: nothing in the batch was taken) or draining: retry after Retry-After seconds',
          },
        },
      },
    );
}
