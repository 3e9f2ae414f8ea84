/**
 * The HTTP contract of the whole app (write path, reads, analytics, probes, docs) without
 * services: every route declares its scope and is in /openapi.json; the edge's answers before
 * routing (405 for a static path, 401/429, a bad Host) are counted in the request metrics; the
 * HTML pages carry their security headers; the analytics `step` takes the forms analysts type.
 */
import { describe, expect, test } from 'bun:test';
import { parseLatencyQuery, parseThroughputQuery } from '../../../src/analytics/model.ts';
import { createAuthenticator } from '../../../src/http/auth.ts';
import { openApiPath } from '../../../src/http/openapi.ts';
import { parseApiKeys, sha256Hex } from '../../../src/kernel/api-keys.ts';
import { ValidationError } from '../../../src/kernel/errors.ts';
import { fullApp as fullAppWith } from '../../support/full-app.ts';

const INGEST = 'ingest-key';
const READ = 'read-key';

const fullApp = (rate = 1000) =>
  fullAppWith(createAuthenticator(parseApiKeys(`w:ingest:${sha256Hex(INGEST)}:${rate},r:read:${sha256Hex(READ)}`)));

type Operation = { security: Array<Record<string, string[]>>; 'x-scope': string; responses: Record<string, unknown> };
const documentOf = async (app: ReturnType<typeof fullApp>['app']) =>
  (await (await app.handle(new Request('http://localhost/openapi.json'))).json()) as {
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  };

describe('/openapi.json is the routes the app serves', () => {
  test('every route the app serves is in the document, with the scope it declares', async () => {
    const { app } = fullApp();
    const doc = await documentOf(app);
    const served = app.routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    expect(documented).toEqual(served);
    expect(served.length).toBe(16);
    const scopes = Object.fromEntries(Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([m, op]) => [`${m} ${path}`, op['x-scope']])));
    expect(scopes).toMatchObject({
      'post /sessions/{sessionId}/complete': 'ingest',
      'post /sessions/complete': 'ingest',
      'get /sessions/{sessionId}': 'read',
      'get /users/{userId}/stats': 'read',
      'get /users/{userId}/sessions': 'read',
      'get /analytics/latency': 'read',
      'get /analytics/throughput': 'read',
      'get /analytics/consumer-lag': 'read',
      'get /healthz': 'open',
      'get /dashboard': 'open',
      'get /openapi.json': 'open',
    });
    expect(doc.components.securitySchemes['apiKey']).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [key, scope] of Object.entries(scopes)) {
      const [method, path] = key.split(' ') as [string, string];
      const op = doc.paths[path]?.[method];
      if (op === undefined) throw new Error(`${key} missing`);
      if (scope === 'open') expect({ key, security: op.security }).toEqual({ key, security: [] });
      else expect({ key, statuses: ['401', '403', '429'].filter((s) => s in op.responses) }).toEqual({ key, statuses: ['401', '403', '429'] });
    }
  });

  test('the batch schema says what the server enforces: 1 to 500 items, each a strict completion', async () => {
    const doc = await documentOf(fullApp().app);
    const op = doc.paths['/sessions/complete']?.['post'] as unknown as { requestBody: { content: Record<string, { schema: any }> } };
    const items = op.requestBody.content['application/json']?.schema.properties.items;
    expect(items).toMatchObject({ type: 'array', minItems: 1, maxItems: 500, items: { additionalProperties: false } });
    expect(items.items.properties.completedAt.pattern).toContain('210[0-5]');
  });
});

describe('the edge before routing', () => {
  test('a static path belongs to its route for every method: GET /sessions/complete is a 405 naming POST, not a read', async () => {
    const { app } = fullApp();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await app.handle(new Request('http://localhost/sessions/complete', { method, headers: { authorization: `Bearer ${READ}` } }));
      expect({ method, status: res.status, allow: res.headers.get('allow') }).toEqual({ method, status: 405, allow: 'POST' });
    }
  });

  test('refusals before routing (no key, over the rate, an unusable Host) are counted by status', async () => {
    const { app, metrics } = fullApp(0.5); // bucket of one
    const at = new Date(Date.now() - 1000).toISOString();
    const write = (key?: string, host = 'localhost') =>
      app.handle(
        new Request(`http://${host}/sessions/s/complete`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify({ userId: 'u', startedAt: at, completedAt: at }),
        }),
      );
    expect((await write()).status).toBe(401);
    expect((await write(INGEST)).status).toBe(202);
    expect((await write(INGEST)).status).toBe(429);
    expect((await write(INGEST, 'x')).status).toBe(400);
    await Bun.sleep(5);
    const text = await metrics.registry.getSingleMetricAsString('http_request_duration_seconds');
    for (const line of [
      'http_request_duration_seconds_count{route="/sessions/:sessionId/complete",method="POST",status="401"} 1',
      'http_request_duration_seconds_count{route="/sessions/:sessionId/complete",method="POST",status="202"} 1',
      'http_request_duration_seconds_count{route="/sessions/:sessionId/complete",method="POST",status="429"} 1',
      'http_request_duration_seconds_count{route="unrouted",method="POST",status="400"} 1',
    ]) {
      expect(text).toContain(line);
    }
  });
});

describe('pages', () => {
  test('/docs and /dashboard send a CSP that allows this origin only, and the other browser headers', async () => {
    const { app } = fullApp();
    for (const path of ['/docs', '/dashboard']) {
      const res = await app.handle(new Request(`http://localhost${path}`));
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      // no inline script: every <script> has a src on this origin
      const html = await res.text();
      expect(html.match(/<script(?![^>]*\ssrc="\/)[^>]*>/g)).toBeNull();
    }
    const script = await app.handle(new Request('http://localhost/docs/assets/docs.js'));
    expect(script.headers.get('content-type')).toStartWith('text/javascript');
    expect(await script.text()).toContain('SwaggerUIBundle');
  });
});

describe('analytics step: the forms analysts type', () => {
  const window = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T04:00:00Z' };
  test('each width served may be written by name, in seconds, or in seconds with an s', () => {
    for (const step of ['1m', '60', '60s']) expect(parseLatencyQuery({ ...window, step }).step).toBe('1m');
    for (const step of ['1h', '3600', '3600s']) expect(parseLatencyQuery({ ...window, step }).step).toBe('1h');
    for (const step of ['5m', '300', '300s']) expect(parseThroughputQuery({ ...window, step })).toMatchObject({ step: '5m', stepSec: 300 });
    expect(parseThroughputQuery({ ...window, step: '10' })).toMatchObject({ step: '10s', stepSec: 10 });
    expect(parseLatencyQuery(window).step).toBe('1m');
  });
  test('any other width is a 422 naming the allowed ones', () => {
    for (const step of ['61', '1s', '2m', '60ms', '']) {
      let error: unknown;
      try {
        parseLatencyQuery({ ...window, step });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      const issue = (error as ValidationError).issues[0];
      expect(issue?.path).toBe('query.step');
      expect(issue?.message).toBe('must be one of 1m (60, 60s), 5m (300, 300s), 15m (900, 900s), 1h (3600, 3600s)');
    }
  });
});
