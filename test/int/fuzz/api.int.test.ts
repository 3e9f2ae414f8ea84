/**
 * Hostile input against the real API process (property-based, fast-check): bodies, headers, path
 * parameters, query strings and methods, sent as raw bytes over TCP. Every request must get an
 * answer below 500 by the client deadline; the process must stay up (healthz) with bounded RSS.
 * The number of cases per property is printed at the end (docs/reliability.md quotes it).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { METHODS, bodyCase, headerCase, pathSegment, queryString, validCompletion } from './arbitraries.ts';
import { type FuzzTarget, type RawResponse, fuzzTarget, rawRequest, requestHead, withBody } from './support.ts';

const target = fuzzTarget();
let api: FuzzTarget;
let rssAfterStart = 0;
const cases: Record<string, number> = {};
const statuses: Record<string, Record<string, number>> = {};
let session = 0;

beforeAll(async () => {
  api = await target.start();
  rssAfterStart = api.rssMb();
}, 90_000);

afterAll(() => {
  const total = Object.values(cases).reduce((a, b) => a + b, 0);
  console.log(`[fuzz] cases run: ${JSON.stringify(cases)} (total ${total}); statuses: ${JSON.stringify(statuses)}`);
});

/** The checks every fuzzed request shares: answered in time, and not a 5xx. */
function expectHandled(property: string, res: RawResponse, allowed?: readonly number[]): void {
  cases[property] = (cases[property] ?? 0) + 1;
  const key = res.status === undefined ? (res.timedOut ? 'no-answer' : 'closed') : String(res.status);
  const byStatus = (statuses[property] ??= {});
  byStatus[key] = (byStatus[key] ?? 0) + 1;
  if (res.timedOut) throw new Error(`${property}: no answer within the client deadline`);
  if (res.status !== undefined && res.status >= 500) {
    throw new Error(`${property}: ${res.status}\n${res.head}\n${Buffer.from(res.body).toString('utf8').slice(0, 500)}\n--- API log:\n${api.logTail()}`);
  }
  if (allowed && res.status !== undefined && !allowed.includes(res.status)) {
    throw new Error(`${property}: unexpected ${res.status}\n${res.head}\n${Buffer.from(res.body).toString('utf8').slice(0, 300)}`);
  }
}

const json = (res: RawResponse): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(Buffer.from(res.body).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

const RUNS = { bodies: 4_000, headers: 2_000, paths: 2_000, queries: 1_500, methods: 500 };

describe('hostile input gets a 4xx (or a 202 when it is valid), never a 5xx or a hang', () => {
  test(`bodies (${RUNS.bodies} cases): deep nesting, huge strings, odd unicode, out-of-range numbers, duplicate keys, truncated, not UTF-8`, async () => {
    await fc.assert(
      fc.asyncProperty(bodyCase, async (c) => {
        const bytes = typeof c.bytes === 'string' ? new TextEncoder().encode(c.bytes) : c.bytes;
        const head = requestHead('POST', `/sessions/fuzz-b${++session}/complete`, [
          ['Content-Type', 'application/json'],
          ['Content-Length', String(bytes.byteLength)],
        ]);
        const res = await rawRequest(api.port, withBody(head, bytes));
        expectHandled('bodies', res, [202, 400, 413, 422]);
        if (res.status === 202) expect(typeof json(res)?.eventId).toBe('string');
        else expect(res.head.toLowerCase()).toContain('content-type: application/problem+json');
      }),
      { numRuns: RUNS.bodies },
    );
  }, 300_000);

  test(`headers (${RUNS.headers} cases): content types, huge and odd Idempotency-Key / X-Request-Id, many headers, bad Content-Length`, async () => {
    await fc.assert(
      fc.asyncProperty(headerCase('/sessions/fuzz-h/complete'), async (c) => {
        const res = await rawRequest(api.port, c.bytes);
        // 431 (headers too large) and 400 come from Bun's parser; 413/415/422 from the route.
        expectHandled('headers', res, [202, 400, 411, 413, 415, 422, 431]);
        const echoed = /\r\nx-request-id: ([^\r]*)/i.exec(res.head)?.[1];
        if (echoed !== undefined) expect(echoed).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      }),
      { numRuns: RUNS.headers },
    );
  }, 300_000);

  test(`path parameters (${RUNS.paths} cases): encoded junk on every route with a parameter`, async () => {
    const body = JSON.stringify(validCompletion());
    await fc.assert(
      fc.asyncProperty(
        pathSegment,
        fc.constantFrom('POST /sessions/#/complete', 'GET /sessions/#', 'GET /users/#/stats', 'GET /users/#/sessions', 'GET /dashboard/assets/#'),
        async (segment, route) => {
          const [method, pattern] = route.split(' ') as [string, string];
          const path = pattern.replace('#', segment);
          const bytes =
            method === 'POST'
              ? withBody(requestHead(method, path, [['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]), body)
              : withBody(requestHead(method, path, []), '');
          const res = await rawRequest(api.port, bytes);
          expectHandled('paths', res, [200, 202, 400, 404, 405, 414, 422, 431]);
        },
      ),
      { numRuns: RUNS.paths },
    );
  }, 300_000);

  test(`query strings (${RUNS.queries} cases) on the read and analytics endpoints`, async () => {
    await fc.assert(
      fc.asyncProperty(
        queryString,
        fc.constantFrom('/users/fuzz-user/sessions', '/analytics/latency', '/analytics/throughput', '/analytics/consumer-lag', '/sessions/fuzz-b1', '/users/fuzz-user/stats'),
        async (query, path) => {
          const res = await rawRequest(api.port, requestHead('GET', `${path}?${query}`, []), { timeoutMs: 20_000 });
          expectHandled('queries', res, [200, 400, 404, 414, 422, 431]);
        },
      ),
      { numRuns: RUNS.queries },
    );
  }, 300_000);

  test(`methods (${RUNS.methods} cases) on every route`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS),
        fc.constantFrom('/sessions/x/complete', '/sessions/complete', '/sessions/x', '/users/x/stats', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/dashboard', '/nope', '/', '*'),
        fc.boolean(),
        async (method, path, withJson) => {
          const body = withJson ? JSON.stringify(validCompletion()) : '';
          const headers: Array<[string, string]> = withJson ? [['Content-Type', 'application/json'], ['Content-Length', String(body.length)]] : [];
          const res = await rawRequest(api.port, withBody(requestHead(method, path, headers), body));
          expectHandled('methods', res);
        },
      ),
      { numRuns: RUNS.methods },
    );
  }, 300_000);
});

test('after all of it: the process is up, healthy, takes a valid write, and its memory stayed bounded', async () => {
  expect(api.alive()).toBe(true);
  expect(await api.healthy()).toBe(true);
  const res = await fetch(`${api.url}/sessions/fuzz-final/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(validCompletion()),
  });
  expect(res.status).toBe(202);
  const rss = api.rssMb();
  console.log(`[fuzz] API RSS: ${rssAfterStart} MB after start, ${rss} MB after ${Object.values(cases).reduce((a, b) => a + b, 0)} cases`);
  // Bounded: a leak of even 50 KB per case would add >100 MB over these cases.
  expect(rss).toBeLessThan(rssAfterStart + 150);
});
