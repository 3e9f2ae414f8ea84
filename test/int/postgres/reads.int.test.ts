/**
 * The read routes mounted on a bare Elysia app (with the API's problem+json mapping pieces),
 * over a scratch schema filled by the real writer.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { projectBatch } from '../../../consumers/postgres/projection.ts';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { AppError, isAppError } from '../../../src/kernel/errors.ts';
import { problemResponse, statusOf } from '../../../src/http/problem.ts';
import { createReadRoutes } from '../../../src/reads/index.ts';
import { makeEvent } from '../../support/events.ts';
import { createScratchDb, type ScratchDb } from './pg-helpers.ts';

let db: ScratchDb;
let app: { handle(request: Request): Promise<Response> };
const t0 = Date.parse('2026-06-01T00:00:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

beforeAll(async () => {
  db = await createScratchDb('t_reads');
  const store = createPgSessionStore(db.pool);
  const events = [
    // 45 sessions for ann; r-10 and r-11 share a completedAt (the keyset must not skip one)
    ...Array.from({ length: 45 }, (_, i) =>
      makeEvent({ sessionId: `r-${i}`, userId: 'ann', completedAt: at(i === 11 ? 10 : i), score: i, attributes: { i } }),
    ),
    makeEvent({ sessionId: 'b-1', userId: 'ben', completedAt: at(5), score: null, outcome: 'abandoned' }),
  ];
  await store.apply(projectBatch(events));
  app = new Elysia()
    .onError(({ code, error, path }) => {
      const mapped = isAppError(error) ? error : new AppError(code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INTERNAL', String(error));
      return problemResponse(mapped, { instance: path, retryAfterSeconds: 1 }, {});
    })
    .use(createReadRoutes({ pool: db.pool }));
});
afterAll(async () => {
  await db?.cleanup();
});

async function get(path: string) {
  const res = await app.handle(new Request(`http://local${path}`));
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}

describe('read routes', () => {
  test('GET /sessions/:sessionId returns the projected session', async () => {
    const r = await get('/sessions/r-3');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      sessionId: 'r-3',
      userId: 'ann',
      completedAt: at(3),
      score: 3,
      outcome: 'completed',
      attributes: { i: 3 },
    });
    expect(typeof r.body.durationMs).toBe('number');
    expect(r.body.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(r.body.projectedAt)).toBeGreaterThan(0);
  });

  test('GET /users/:userId/stats returns the aggregates', async () => {
    const r = await get('/users/ben/stats');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      userId: 'ben',
      sessionsCompleted: 1,
      bestScore: null,
      avgScore: null,
      scoredSessions: 0,
      outcomes: { completed: 0, failed: 0, abandoned: 1 },
      lastCompletedAt: at(5),
    });
    const ann = await get('/users/ann/stats');
    expect(ann.body).toMatchObject({ sessionsCompleted: 45, bestScore: 44, avgScore: 22 });
  });

  test('GET /users/:userId/sessions pages newest first with a cursor, no gaps and no repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await get(`/users/ann/sessions?limit=10${cursor ? `&before=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(10);
      seen.push(...r.body.items.map((s: { sessionId: string }) => s.sessionId));
      cursor = r.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(5);
    const expected = Array.from({ length: 45 }, (_, i) => ({ id: `r-${i}`, at: at(i === 11 ? 10 : i) }))
      .sort((a, b) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.id < b.id ? 1 : -1))
      .map((x) => x.id);
    expect(seen).toEqual(expected);
  });

  test('default page size is 20; the last page has nextCursor null', async () => {
    const first = await get('/users/ann/sessions');
    expect(first.body.items.length).toBe(20);
    expect(typeof first.body.nextCursor).toBe('string');
    const ben = await get('/users/ben/sessions');
    expect(ben.body).toMatchObject({ userId: 'ben', nextCursor: null });
    expect(ben.body.items.length).toBe(1);
  });

  test('unknown ids are 404 problem+json', async () => {
    for (const path of ['/sessions/nope', '/users/nobody/stats', '/users/nobody/sessions']) {
      const r = await get(path);
      expect(r.status).toBe(404);
      expect(r.type).toContain('application/problem+json');
    }
  });

  test('bad parameters are 422 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['/users/ann/sessions?limit=0', 'query.limit'],
      ['/users/ann/sessions?limit=abc', 'query.limit'],
      ['/users/ann/sessions?limit=1000', 'query.limit'],
      ['/users/ann/sessions?before=garbage', 'query.before'],
      ['/users/bad%20id/stats', 'params.userId'],
      ['/sessions/bad%20id', 'params.sessionId'],
    ];
    for (const [path, field] of cases) {
      const r = await get(path);
      expect({ path, status: r.status }).toEqual({ path, status: 422 });
      expect(JSON.stringify(r.body)).toContain(field);
    }
  });
});
