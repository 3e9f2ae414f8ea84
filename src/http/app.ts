/**
 * Composes the HTTP API: request ids, draining, access control, the one error mapper, metrics and
 * sampled access logs, probes, the OpenAPI document and docs page, and the feature plugins
 * (write path, reads, analytics). Creating the app performs no I/O; src/server.ts wires it to
 * real clients.
 *
 * Every route declares who may call it (`auth`) and its contract (src/http/contract.ts); an app
 * with an undeclared route does not start. Keys are checked twice, for one purpose: before the
 * body is read, against the route the path resolves to (src/http/routes.ts), so an unauthorised
 * request costs no parsing and gets its 401 before any 4xx about its body; and again for the
 * route Elysia actually runs, so a difference between the two lookups can refuse a request but
 * never open one.
 */
import { Elysia, type AnyElysia } from 'elysia';
import { z } from 'zod';
import type { Scope } from '../kernel/api-keys.ts';
import { AppError, describeError, isAppError } from '../kernel/errors.ts';
import type { Logger } from '../kernel/observability/logger.ts';
import { type Authenticator, admittedKey, recordAdmission } from './auth.ts';
import { type DeclaredRoute, declaredRoutes, routeContract } from './contract.ts';
import { docsRoutes } from './docs.ts';
import type { ApiMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { problemResponse, statusOf } from './problem.ts';
import { type RouteIndex, createRouteIndex } from './routes.ts';

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
/** The route label of requests refused before a route was resolved (an unusable Host header). */
const UNROUTED = 'unrouted';

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
  let index: RouteIndex | undefined;

  const requestIdOf = (set: { headers: Record<string, unknown> }): string | undefined => {
    const id = set.headers['x-request-id'];
    return typeof id === 'string' ? id : undefined;
  };

  /**
   * A refusal made before routing: onAfterResponse does not run for it, so it is counted here.
   * `route` is the pattern the path resolved to, when it did.
   */
  const refuse = (
    request: Request,
    set: { headers: Record<string, unknown> },
    route: string,
    error: AppError,
    instance: string | undefined,
    extra: Record<string, string> = {},
  ): Response => {
    const response = problemResponse(
      error,
      { ...(instance === undefined ? {} : { instance }), requestId: requestIdOf(set), retryAfterSeconds: deps.retryAfterSeconds },
      { 'x-request-id': requestIdOf(set) ?? '', ...extra },
    );
    const t0 = started.get(request);
    metrics.observeRequest(route, request.method, response.status, t0 === undefined ? 0 : (performance.now() - t0) / 1000);
    return response;
  };

  /** Checks the key for a scope; records the admission so the route can charge per event. */
  const admit = (request: Request, scope: Scope): void => {
    if (!deps.authenticator) return;
    recordAdmission(request, deps.authenticator.check(scope, request.headers.get('authorization')));
  };

  const app = new Elysia({ name: 'api' })
    .use(routeContract)
    .onRequest(({ request, set }) => {
      started.set(request, performance.now());
      const incoming = request.headers.get('x-request-id');
      set.headers['x-request-id'] = incoming !== null && REQUEST_ID.test(incoming) ? incoming : Bun.randomUUIDv7();
      const path = pathOf(request.url);
      if (elysiaPathOf(request.url) !== path) {
        return refuse(
          request,
          set,
          UNROUTED,
          new AppError('BAD_REQUEST', 'The Host header is missing, not a valid host, or too short (under 4 characters) for this server to route the request.'),
          path,
        );
      }
      index ??= createRouteIndex(routes());
      const resolved = index.resolve(request.method, path);
      const route = resolved.kind === 'route' ? resolved.route : undefined;
      const label = route?.path ?? 'unmatched';
      if (deps.draining() && route?.contract.drains !== false) {
        return refuse(request, set, label, new AppError('SHUTTING_DOWN', 'The service is shutting down; retry on another instance.'), undefined, {
          connection: 'close',
        });
      }
      if (resolved.kind === 'method-not-allowed') {
        return refuse(
          request,
          set,
          label,
          new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}.`, { details: { allow: resolved.allow } }),
          path,
        );
      }
      if (route !== undefined && route.auth !== 'open') {
        try {
          admit(request, route.auth);
        } catch (error) {
          metrics.authRejected.inc({ reason: isAppError(error) ? error.code.toLowerCase() : 'internal' });
          return refuse(request, set, label, isAppError(error) ? error : new AppError('INTERNAL', 'Access check failed.', { cause: error }), path);
        }
      }
    })
    // The route Elysia resolved must be the one the key was checked for (see the header comment).
    .onBeforeHandle(({ request, route }) => {
      if (!deps.authenticator) return;
      const declared = index?.byPattern(request.method, route);
      if (declared === undefined) throw new AppError('FORBIDDEN', `${request.method} ${route} declares no access.`);
      if (declared.auth === 'open') return;
      const key = admittedKey(request);
      if (key === undefined) {
        logger.error({ method: request.method, route, url: request.url }, 'route resolved differently from the access check');
        admit(request, declared.auth);
      } else if (!key.scopes.has(declared.auth)) {
        throw new AppError('FORBIDDEN', `The API key "${key.name}" does not have the "${declared.auth}" scope this endpoint needs.`);
      }
    })
    .onError(({ code, error, request, set, path }) => {
      let mapped: unknown = error;
      // Our own errors first: Elysia reads `error.code`, so an AppError('NOT_FOUND') thrown by a
      // handler arrives with code NOT_FOUND just like an unmatched route.
      if (isAppError(error)) {
        mapped = error;
      } else if (code === 'NOT_FOUND') {
        index ??= createRouteIndex(routes());
        const allow = index.allowedMethods(path);
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
    .get('/healthz', () => ({ status: 'ok' as const, pid: process.pid }), {
      auth: 'open',
      contract: {
        summary: 'Liveness (names the pid of the worker that answered)',
        tags: ['operations'],
        drains: false,
        responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok'), pid: z.int() }) } },
      },
    })
    .get(
      '/readyz',
      ({ set }) => {
        const r = deps.readiness();
        if (r.ready) return { status: 'ready' as const };
        set.status = 503;
        set.headers['retry-after'] = String(deps.retryAfterSeconds);
        return { status: 'not_ready' as const, reason: r.reason ?? 'unknown' };
      },
      {
        auth: 'open',
        contract: {
          summary: 'Readiness: producer connected to Kafka, not draining',
          tags: ['operations'],
          drains: false,
          responses: {
            200: { description: 'Ready', schema: z.object({ status: z.literal('ready') }) },
            503: {
              description: 'Not ready (not connected, or draining)',
              schema: z.object({ status: z.literal('not_ready'), reason: z.string() }),
              headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'string', pattern: '^[0-9]+$' } } },
            },
          },
        },
      },
    )
    .get(
      '/metrics',
      async () =>
        new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }),
      {
        auth: 'open',
        contract: {
          summary: 'Prometheus metrics',
          tags: ['operations'],
          drains: false,
          responses: { 200: { description: 'Prometheus text exposition format', contentTypes: ['text/plain'] } },
        },
      },
    )
    .use(docsRoutes(() => JSON.stringify(openApiDocument(routes()))));
  for (const plugin of deps.plugins) app.use(plugin);

  let declared: DeclaredRoute[] | undefined;
  /** The app's routes with their declarations (checked once, below, before anything is served). */
  const routes = (): DeclaredRoute[] => (declared ??= declaredRoutes(app.routes));
  routes();
  return app;
}
