/**
 * Write-path routes: POST /sessions/:sessionId/complete and the batch POST /sessions/complete.
 * Routes only translate HTTP to the service and back; the error mapper in src/http/app.ts turns
 * thrown AppErrors into problem+json.
 */
import { Elysia } from 'elysia';
import { isAppError } from '../kernel/errors.ts';
import type { ApiMetrics } from '../http/metrics.ts';
import { readJsonBody } from '../http/body.ts';
import { type EventPublisher, type SessionDeps, parseBatch, parseCompletion, publish } from './service.ts';

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

export function createSessionRoutes(deps: SessionRoutesDeps) {
  const { metrics } = deps;
  /** Counts a failure by reason, then lets it reach the app's one error mapper. */
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      metrics.eventsRejected.inc({ reason: reasonOf(error) });
      throw error;
    }
  };
  return new Elysia({ name: 'sessions' })
    .post(
      '/sessions/:sessionId/complete',
      async ({ params, body, request, set }) => {
        const event = await counted(async () => {
          const e = parseCompletion({ params, body, idempotencyKey: request.headers.get('idempotency-key') }, deps.session);
          await publish(deps.publisher, e);
          return e;
        });
        metrics.eventsAccepted.inc();
        set.status = 202;
        return { eventId: event.id, sessionId: event.data.sessionId, status: 'accepted' as const };
      },
      { parse: ({ request }) => counted(() => readJsonBody(request, deps.bodyLimitBytes)) },
    )
    .post(
      '/sessions/complete',
      async ({ body, set }) => {
        const outcomes = await counted(async () => parseBatch(body, deps.session));
        const results = await Promise.all(
          outcomes.map(async (o) => {
            if (!o.ok) {
              metrics.eventsRejected.inc({ reason: 'validation_failed' });
              return { index: o.index, status: 'rejected' as const, issues: o.issues };
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
      { parse: ({ request }) => counted(() => readJsonBody(request, deps.batchBodyLimitBytes)) },
    );
}
