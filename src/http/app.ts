/**
 * Composes the HTTP API: request ids, draining, the one error mapper, metrics and sampled access
 * logs, probes, the OpenAPI document and docs page, and the feature plugins (write path, reads,
 * analytics). Creating the app performs no I/O; src/server.ts wires it to real clients.
 */
import { Elysia, type AnyElysia } from 'elysia';
import { AppError, describeError, isAppError } from '../kernel/errors.ts';
import type { Logger } from '../kernel/observability/logger.ts';
import type { Authenticator } from './auth.ts';
import type { ApiMetrics } from './metrics.ts';
import { problemResponse, statusOf } from './problem.ts';
import { docsRoutes } from './openapi.ts';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  readonly retryAfterSeconds: number;
  readonly accessLogSampleRate: number;
  /** Ready to take writes (producer connected, not draining), with the reason when not. */
  readonly readiness: () => { ready: boolean; reason?: string };
  readonly draining: () => boolean;
  readonly plugins: readonly AnyElysia[];
  /** API-key checks; undefined only when auth is disabled (development mode). */
  readonly authenticator: Authenticator | undefined;
  readonly random?: () => number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probes and scrapes keep answering while the process drains. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The request's own path. Bun gives `http://host/path?query`, or only `/path?query` when the
 * Host header is missing or not a valid host.
 */
const pathOf = (url: string): string => {
  const start = url.startsWith('/') ? 0 : url.indexOf('/', url.indexOf('//') + 2);
  const q = url.indexOf('?', start);
  return start < 0 ? '/' : url.slice(start, q < 0 ? undefined : q);
};

/**
 * The path Elysia (1.4) routes by when Bun's own router did not take the request: it cuts the
 * URL at the first '/' from index 11, which assumes "http://" plus a host of at least four
 * characters. With a shorter or an invalid Host header that is another path than the
 * request's: `Host: x` with `/xx/sessions/s/complete` ran the write route while every check
 * here (access control included) saw `/xx/...`. Requests on which the two differ are refused
 * before anything else.
 */
const elysiaPathOf = (url: string): string => {
  const start = url.indexOf('/', 11);
  const q = url.indexOf('?', start + 1);
  return q < 0 ? url.substring(start) : url.substring(start, q);
};

export function createApp(deps: AppDeps) {
  const { logger, metrics } = deps;
  const random = deps.random ?? Math.random;
  const started = new WeakMap<Request, number>();
  let routeTable: Array<{ method: string; pattern: RegExp }> | undefined;

  /** For a path that matched no route: the methods it does answer to (405), if any. */
  const allowedMethods = (path: string): string[] => {
    routeTable ??= app.routes.map((r) => ({
      method: r.method.toUpperCase(),
      pattern: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}$`),
    }));
    return [...new Set(routeTable.filter((r) => r.pattern.test(path)).map((r) => r.method))];
  };

  const requestIdOf = (set: { headers: Record<string, unknown> }): string | undefined => {
    const id = set.headers['x-request-id'];
    return typeof id === 'string' ? id : undefined;
  };

  const app = new Elysia({ name: 'api' })
    .onRequest(({ request, set }) => {
      started.set(request, performance.now());
      const incoming = request.headers.get('x-request-id');
      set.headers['x-request-id'] = incoming !== null && REQUEST_ID.test(incoming) ? incoming : Bun.randomUUIDv7();
      const path = pathOf(request.url);
      if (elysiaPathOf(request.url) !== path) {
        return problemResponse(
          new AppError('BAD_REQUEST', 'The Host header is missing, not a valid host, or too short (under 4 characters) for this server to route the request.'),
          { instance: path, requestId: requestIdOf(set), retryAfterSeconds: deps.retryAfterSeconds },
          { 'x-request-id': requestIdOf(set) ?? '' },
        );
      }
      if (deps.draining() && !PROBES.has(path)) {
        return problemResponse(
          new AppError('SHUTTING_DOWN', 'The service is shutting down; retry on another instance.'),
          { requestId: requestIdOf(set), retryAfterSeconds: deps.retryAfterSeconds },
          { 'x-request-id': requestIdOf(set) ?? '', connection: 'close' },
        );
      }
      if (deps.authenticator) {
        try {
          deps.authenticator.check(request.method, path, request.headers.get('authorization'));
        } catch (error) {
          metrics.authRejected.inc({ reason: isAppError(error) ? error.code.toLowerCase() : 'internal' });
          return problemResponse(
            error,
            { instance: path, requestId: requestIdOf(set), retryAfterSeconds: deps.retryAfterSeconds },
            { 'x-request-id': requestIdOf(set) ?? '' },
          );
        }
      }
    })
    .onError(({ code, error, request, set, path }) => {
      let mapped: unknown = error;
      // Our own errors first: Elysia reads `error.code`, so an AppError('NOT_FOUND') thrown by a
      // handler arrives with code NOT_FOUND just like an unmatched route.
      if (isAppError(error)) {
        mapped = error;
      } else if (code === 'NOT_FOUND') {
        const allow = allowedMethods(path);
        mapped =
          allow.length > 0
            ? new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}.`, {
                details: { allow: allow.join(', ') },
              })
            : new AppError('NOT_FOUND', `No route for ${request.method} ${path}.`);
      } else if (code === 'PARSE') {
        const cause = error instanceof Error ? error.cause : undefined;
        mapped = isAppError(cause) ? cause : new AppError('MALFORMED_JSON', 'The request body could not be parsed.');
      } else if (code === 'VALIDATION') {
        mapped = new AppError('VALIDATION_FAILED', 'The request did not pass validation.');
      } else if (code === 'INVALID_COOKIE_SIGNATURE' || code === 'INVALID_FILE_TYPE') {
        mapped = new AppError('VALIDATION_FAILED', String((error as Error).message));
      }
      const status = isAppError(mapped) ? statusOf(mapped) : 500;
      set.status = status;
      if (status >= 500 && !(isAppError(mapped) && mapped.retriable)) {
        logger.error({ err: describeError(error), path, method: request.method, requestId: requestIdOf(set) }, 'unhandled error');
      }
      return problemResponse(
        mapped,
        { instance: path, requestId: requestIdOf(set), retryAfterSeconds: deps.retryAfterSeconds },
        { 'x-request-id': requestIdOf(set) ?? '' },
      );
    })
    .onAfterResponse(({ request, set, route, responseValue }) => {
      const t0 = started.get(request);
      const seconds = t0 === undefined ? 0 : (performance.now() - t0) / 1000;
      const status =
        responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200;
      const label = route || 'unmatched';
      metrics.observeRequest(label, request.method, status, seconds);
      // Access logs are sampled: at tens of thousands of requests a second, logging each one
      // would cost more than serving it. 5xx are always logged.
      if (status >= 500 || random() < deps.accessLogSampleRate) {
        logger.info(
          { requestId: requestIdOf(set), method: request.method, route: label, status, ms: Math.round(seconds * 1e4) / 10 },
          'access',
        );
      }
    })
    // The pid tells which worker answered when API_WORKERS > 1 share the port.
    .get('/healthz', () => ({ status: 'ok', pid: process.pid }))
    .get('/readyz', ({ set }) => {
      const r = deps.readiness();
      if (r.ready) return { status: 'ready' };
      set.status = 503;
      set.headers['retry-after'] = String(deps.retryAfterSeconds);
      return { status: 'not_ready', reason: r.reason ?? 'unknown' };
    })
    .get(
      '/metrics',
      async () =>
        new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }),
    )
    .use(docsRoutes());
  for (const plugin of deps.plugins) app.use(plugin);
  return app;
}
