/**
 * The HTTP edge without a broker: the publisher port is an in-memory stand-in, so these tests
 * pin the contract (status codes, problem+json bodies, headers). The same contract is checked
 * against a real broker in test/int/write/.
 */
import { describe, expect, test } from 'bun:test';
import { AppError } from '../../../src/kernel/errors.ts';
import type { EventMessage } from '../../../src/kernel/events/session-completed.ts';
import { createApp } from '../../../src/http/app.ts';
import { sha256Hex } from '../../../src/kernel/api-keys.ts';
import { type Authenticator, createAuthenticator } from '../../../src/http/auth.ts';
import { createApiMetrics } from '../../../src/http/metrics.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { createRegistry } from '../../../src/kernel/observability/metrics.ts';
import { createSessionRoutes } from '../../../src/sessions/index.ts';
import { routeContract } from '../../../src/http/contract.ts';
import type { EventPublisher } from '../../../src/sessions/service.ts';

function makeApp(publisher: EventPublisher, opts: { draining?: boolean; authenticator?: Authenticator; batchBodyLimitBytes?: number } = {}) {
  const metrics = createApiMetrics(createRegistry());
  const app = createApp({
    logger: silentLogger(),
    metrics,
    retryAfterSeconds: 3,
    accessLogSampleRate: 0,
    authenticator: opts.authenticator,
    draining: () => opts.draining ?? false,
    readiness: () => ({ ready: true }),
    plugins: [
      createSessionRoutes({
        publisher,
        session: { now: () => Date.parse('2026-11-28T12:00:00Z'), newEventId: () => '01938f4e-0000-7000-8000-0000000000aa', maxClockSkewMs: 60_000 },
        bodyLimitBytes: 1024,
        batchBodyLimitBytes: opts.batchBodyLimitBytes ?? 64 * 1024,
        retryAfterSeconds: 3,
        metrics,
      }),
    ],
  });
  return { app, metrics };
}

const recording = () => {
  const sent: EventMessage[] = [];
  return { sent, publisher: { append: async (m: EventMessage) => void sent.push(m) } };
};

const body = { userId: 'u1', startedAt: '2026-11-28T11:00:00Z', completedAt: '2026-11-28T11:30:00Z' };
const post = (path: string, payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  new Request(`http://localhost${path}`, { method: 'POST', headers, body: typeof payload === 'string' ? payload : JSON.stringify(payload) });

describe('POST /sessions/:sessionId/complete', () => {
  test('202 with the event id once the publisher has the event', async () => {
    const { sent, publisher } = recording();
    const { app } = makeApp(publisher);
    const res = await app.handle(post('/sessions/s-1/complete', body));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ eventId: '01938f4e-0000-7000-8000-0000000000aa', sessionId: 's-1', status: 'accepted' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.key).toBe('u1');
  });

  test('echoes a well-formed X-Request-Id', async () => {
    const { app } = makeApp(recording().publisher);
    const res = await app.handle(post('/sessions/s/complete', body, { 'content-type': 'application/json', 'x-request-id': 'req-123' }));
    expect(res.headers.get('x-request-id')).toBe('req-123');
  });

  const cases: Array<[string, Request, number, string]> = [
    ['malformed JSON', post('/sessions/s/complete', '{"userId":'), 400, 'MALFORMED_JSON'],
    ['empty body', post('/sessions/s/complete', ''), 400, 'MALFORMED_JSON'],
    ['wrong content type', post('/sessions/s/complete', JSON.stringify(body), { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['no content type', new Request('http://localhost/sessions/s/complete', { method: 'POST', body: new Blob([JSON.stringify(body)]) }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['body over the limit', post('/sessions/s/complete', { ...body, attributes: { big: 'x'.repeat(1_000) } }), 413, 'PAYLOAD_TOO_LARGE'],
    ['schema errors', post('/sessions/bad%20id/complete', { userId: 7 }), 422, 'VALIDATION_FAILED'],
    ['JSON that is not an object', post('/sessions/s/complete', '[1,2]'), 422, 'VALIDATION_FAILED'],
  ];
  for (const [name, request, status, code] of cases) {
    test(`${name} -> ${status} problem+json (${code}), nothing published`, async () => {
      const { sent, publisher } = recording();
      const { app } = makeApp(publisher);
      const res = await app.handle(request);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await res.json()) as { code: string; status: number; detail: string };
      expect(problem.code).toBe(code);
      expect(problem.status).toBe(status);
      expect(problem.detail.length).toBeGreaterThan(0);
      expect(sent).toHaveLength(0);
    });
  }

  test('422 lists every failing field path and why', async () => {
    const { app } = makeApp(recording().publisher);
    const res = await app.handle(post('/sessions/bad%20id/complete', { userId: 7, startedAt: 'x' }));
    const problem = (await res.json()) as { issues: Array<{ path: string; message: string }> };
    expect(problem.issues.map((i) => i.path).sort()).toEqual(['body.completedAt', 'body.startedAt', 'body.userId', 'params.sessionId']);
    expect(problem.issues.every((i) => i.message.length > 0)).toBe(true);
  });

  for (const code of ['OVERLOADED', 'BROKER_TIMEOUT', 'BROKER_UNAVAILABLE'] as const) {
    test(`publisher failure ${code} -> 503 with Retry-After, never 202`, async () => {
      const { app, metrics } = makeApp({ append: () => Promise.reject(new AppError(code, 'nope')) });
      const res = await app.handle(post('/sessions/s/complete', body));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(((await res.json()) as { code: string }).code).toBe(code);
      expect(await metrics.registry.getSingleMetricAsString('events_rejected_total')).toContain(`reason="${code.toLowerCase()}"`);
    });
  }

  test('a standing refusal (broker down) is answered before the body is read, with its own Retry-After, for both write routes', async () => {
    let appended = 0;
    const refusal = () => new AppError('BROKER_UNAVAILABLE', 'down', { details: { retryAfterSeconds: 4 } });
    const { app, metrics } = makeApp({ append: () => ((appended += 1), Promise.resolve()), refusal });
    // Not even valid JSON: had the body been read, this would be a 400.
    const bad = new Request('http://localhost/sessions/s/complete', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    const res = await app.handle(bad);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('4');
    expect(((await res.json()) as { code: string }).code).toBe('BROKER_UNAVAILABLE');
    expect(bad.bodyUsed).toBe(false);
    const batch = await app.handle(post('/sessions/complete', { items: [{ sessionId: 's1', ...body }] }));
    expect(batch.status).toBe(503);
    expect(batch.headers.get('retry-after')).toBe('4');
    expect(appended).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('events_rejected_total')).toContain('reason="broker_unavailable"');
  });

  test('an unexpected publisher error is a 500 that reveals nothing', async () => {
    const { app } = makeApp({ append: () => Promise.reject(new Error('secret internals')) });
    const res = await app.handle(post('/sessions/s/complete', body));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('secret');
  });

  test('while draining, writes get 503 and probes still answer', async () => {
    const { app } = makeApp(recording().publisher, { draining: true });
    expect((await app.handle(post('/sessions/s/complete', body))).status).toBe(503);
    expect((await app.handle(new Request('http://localhost/healthz'))).status).toBe(200);
  });
});

describe('routing errors', () => {
  test('unknown route -> 404 problem+json', async () => {
    const { app } = makeApp(recording().publisher);
    const res = await app.handle(new Request('http://localhost/nope'));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
  test('known route, wrong method -> 405 with Allow', async () => {
    const { app } = makeApp(recording().publisher);
    const res = await app.handle(new Request('http://localhost/sessions/s/complete', { method: 'DELETE' }));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('Host headers shorter than four characters', () => {
  // Elysia routes such requests by a path cut at a fixed offset (see elysiaPathOf in
  // src/http/app.ts): `Host: x` + `/xx/sessions/s/complete` ran the write route unauthenticated.
  const withKeys = () =>
    createAuthenticator([{ name: 'w', scopes: new Set(['ingest'] as const), hash: sha256Hex('k'), ratePerSecond: 1000 }]);
  const json = { 'content-type': 'application/json' };

  test('a path that Elysia would route elsewhere is refused with 400, nothing published, no key needed to see it', async () => {
    const { sent, publisher } = recording();
    const { app } = makeApp(publisher, { authenticator: withKeys() });
    const res = await app.handle(new Request('http://x/xx/sessions/s/complete', { method: 'POST', headers: json, body: JSON.stringify(body) }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('BAD_REQUEST');
    expect(problem.detail).toContain('Host header');
    expect(sent).toHaveLength(0);
  });

  test('every request with such a Host is refused the same way, with or without a valid key', async () => {
    const { sent, publisher } = recording();
    const { app } = makeApp(publisher, { authenticator: withKeys() });
    for (const url of ['http://x/sessions/s/complete', 'http://ab/healthz', 'http://abc/users/u/stats']) {
      const res = await app.handle(new Request(url, { method: 'POST', headers: { ...json, authorization: 'Bearer k' }, body: JSON.stringify(body) }));
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
    }
    expect(sent).toHaveLength(0);
  });

  test('a four-character host (and an IP address) is routed normally', async () => {
    const { sent, publisher } = recording();
    const { app } = makeApp(publisher, { authenticator: withKeys() });
    for (const host of ['abcd', '10.0.0.1:3000']) {
      const res = await app.handle(new Request(`http://${host}/sessions/s/complete`, { method: 'POST', headers: { ...json, authorization: 'Bearer k' }, body: JSON.stringify(body) }));
      expect({ host, status: res.status }).toEqual({ host, status: 202 });
    }
    expect(sent).toHaveLength(2);
  });
});

describe('POST /sessions/complete (batch)', () => {
  test('one result per item; valid items accepted even beside invalid ones; 207 when mixed', async () => {
    const { sent, publisher } = recording();
    const { app } = makeApp(publisher);
    const res = await app.handle(post('/sessions/complete', { items: [{ sessionId: 'a', ...body }, { sessionId: 'b', ...body, userId: '' }] }));
    expect(res.status).toBe(207);
    const out = (await res.json()) as { accepted: number; rejected: number; results: Array<{ index: number; status: string }> };
    expect(out.accepted).toBe(1);
    expect(out.rejected).toBe(1);
    expect(out.results.map((r) => [r.index, r.status])).toEqual([[0, 'accepted'], [1, 'rejected']]);
    expect(sent).toHaveLength(1);
  });
  test('all accepted -> 202', async () => {
    const { app } = makeApp(recording().publisher);
    const res = await app.handle(post('/sessions/complete', { items: [{ sessionId: 'a', ...body }, { sessionId: 'b', ...body }] }));
    expect(res.status).toBe(202);
  });
  test('more than 500 items -> 422 naming body.items', async () => {
    const { app } = makeApp(recording().publisher);
    const res = await app.handle(post('/sessions/complete', { items: Array.from({ length: 501 }, (_, i) => ({ sessionId: `s${i}`, ...body })) }));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { issues: Array<{ path: string }> }).issues[0]?.path).toBe('body.items');
  });
});

describe('operations', () => {
  test('metrics expose request durations by route and status, and accepted events', async () => {
    const { app } = makeApp(recording().publisher);
    await app.handle(post('/sessions/s/complete', body));
    await Bun.sleep(5); // onAfterResponse runs after the response is handed back
    const text = await (await app.handle(new Request('http://localhost/metrics'))).text();
    expect(text).toContain('http_request_duration_seconds_count{route="/sessions/:sessionId/complete",method="POST",status="202"} 1');
    expect(text).toContain('events_accepted_total 1');
    expect(text).toContain('process_resident_memory_bytes');
  });
  test('openapi.json documents the write path from the zod schemas', async () => {
    const { app } = makeApp(recording().publisher);
    const doc = (await (await app.handle(new Request('http://localhost/openapi.json'))).json()) as { paths: Record<string, any> };
    const schema = doc.paths['/sessions/{sessionId}/complete'].post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['userId', 'startedAt', 'completedAt']));
    expect((await app.handle(new Request('http://localhost/docs'))).status).toBe(200);
    expect((await app.handle(new Request('http://localhost/docs/assets/swagger-ui-bundle.js'))).status).toBe(200);
  });
});

describe('errors thrown by feature routes', () => {
  test('an AppError NOT_FOUND from a handler is a 404, not mistaken for an unmatched route (405)', async () => {
    const { Elysia } = await import('elysia');
    const metrics = createApiMetrics(createRegistry());
    const app = createApp({
      logger: silentLogger(),
      metrics,
      retryAfterSeconds: 1,
      accessLogSampleRate: 0,
      authenticator: undefined,
      draining: () => false,
      readiness: () => ({ ready: true }),
      plugins: [
        new Elysia().use(routeContract).get('/things/:id', () => { throw new AppError('NOT_FOUND', 'No thing.'); }, {
          auth: 'open',
          contract: { summary: 'a thing', responses: { 200: { description: 'the thing' } }, problems: { 404: 'no thing' } },
        }),
      ],
    });
    const res = await app.handle(new Request('http://localhost/things/x'));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe('No thing.');
  });
});

describe('deny by default', () => {
  const baseDeps = () => ({
    logger: silentLogger(),
    metrics: createApiMetrics(createRegistry()),
    retryAfterSeconds: 1,
    accessLogSampleRate: 0,
    authenticator: undefined,
    draining: () => false,
    readiness: () => ({ ready: true }),
  });
  test('an app with a route that declares no `auth` does not start, and names the route', async () => {
    const { Elysia } = await import('elysia');
    const undeclared = new Elysia().get('/open-by-accident', () => 'hello');
    expect(() => createApp({ ...baseDeps(), plugins: [undeclared] })).toThrow(/GET \/open-by-accident: no `auth`/);
  });
  test('nor one that declares access but no contract (it would be missing from /openapi.json)', async () => {
    const { Elysia } = await import('elysia');
    const undocumented = new Elysia().use(routeContract).get('/undocumented', () => 'hello', { auth: 'read' });
    expect(() => createApp({ ...baseDeps(), plugins: [undocumented] })).toThrow(/GET \/undocumented: no `contract`/);
  });
});

describe('the batch answer stays small whatever the batch holds', () => {
  test('a 1 MiB batch of items with hundreds of unknown keys gets an answer under 64 KiB that says how much it left out', async () => {
    const { app } = makeApp(recording().publisher, { batchBodyLimitBytes: 1024 * 1024 });
    const unknownKeys = (i: number) => Object.fromEntries(Array.from({ length: 300 }, (_, k) => [`unknown_key_${i}_${k}_${'x'.repeat(40)}`, 1]));
    const items = Array.from({ length: 30 }, (_, i) => ({ sessionId: `s${i}`, ...body, ...unknownKeys(i) }));
    const payload = JSON.stringify({ items });
    expect(payload.length).toBeGreaterThan(512 * 1024);
    expect(payload.length).toBeLessThanOrEqual(1024 * 1024);
    const res = await app.handle(post('/sessions/complete', payload));
    const text = await res.text();
    expect(res.status).toBe(207);
    expect(text.length).toBeLessThan(64 * 1024);
    const out = JSON.parse(text) as { rejected: number; results: Array<{ issues: unknown[]; issuesOmitted?: number }> };
    expect(out.rejected).toBe(30);
    expect(out.results.reduce((n, r) => n + r.issues.length, 0)).toBeLessThanOrEqual(100);
    expect(out.results.every((r) => r.issues.length <= 10 && (r.issuesOmitted ?? 0) > 0)).toBe(true);
    expect(out.results.reduce((n, r) => n + r.issues.length + (r.issuesOmitted ?? 0), 0)).toBe(30 * 300);

    // The envelope's own 422 is capped too (unknown top-level keys, one issue each), and long paths are cut.
    const envelope = JSON.stringify({ items: [{}], ...Object.fromEntries(Array.from({ length: 5_000 }, (_, k) => [`k${k}${'y'.repeat(150)}`, 1])) });
    const bad = await app.handle(post('/sessions/complete', envelope));
    const problemText = await bad.text();
    expect(bad.status).toBe(422);
    expect(problemText.length).toBeLessThan(64 * 1024);
    const problem = JSON.parse(problemText) as { issues: Array<{ path: string }>; issuesOmitted: number };
    expect(problem.issues).toHaveLength(100);
    expect(problem.issuesOmitted).toBe(4_900);
    expect(problem.issues.every((i) => i.path.length <= 160)).toBe(true);
  });
});
