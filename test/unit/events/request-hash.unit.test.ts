/**
 * The request hash (what a keyed request asked for) and the API's best-effort refusal of a key
 * reused for a different body.
 */
import { describe, expect, test } from 'bun:test';
import { AppError } from '../../../src/kernel/errors.ts';
import { canonicalJson, decodeSessionCompleted, encodeSessionCompleted, requestHashOf } from '../../../src/kernel/events/session-completed.ts';
import { createRecentRequestKeys } from '../../../src/sessions/recent-keys.ts';
import { parseBatch, parseCompletion, type SessionDeps } from '../../../src/sessions/service.ts';

const NOW = Date.parse('2026-11-28T12:00:00.000Z');
const deps = (over: Partial<SessionDeps> = {}): SessionDeps => ({ now: () => NOW, newEventId: () => '01938f4e-0000-7000-8000-000000000001', maxClockSkewMs: 300_000, ...over });
const body = { userId: 'u1', startedAt: '2026-11-28T10:00:00Z', completedAt: '2026-11-28T10:05:00Z', score: 42, attributes: { b: 1, a: 'x' } };

describe('canonicalJson and requestHashOf', () => {
  test('key order and undefined fields do not change the text', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });
  test('the hash is of the validated data: another zone notation of the same instant, the same hash', () => {
    const a = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'k' }, deps());
    const b = parseCompletion({ params: { sessionId: 's1' }, body: { ...body, startedAt: '2026-11-28T11:00:00+01:00', attributes: { a: 'x', b: 1 } }, idempotencyKey: 'k' }, deps());
    expect(a.requestHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.requestHash).toBe(a.requestHash!);
    expect(a.requestHash).toBe(requestHashOf(a.data));
  });
  test('a different body, another hash; no key, no hash', () => {
    const a = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'k' }, deps());
    const b = parseCompletion({ params: { sessionId: 's1' }, body: { ...body, score: 43 }, idempotencyKey: 'k' }, deps());
    expect(b.id).toBe(a.id);
    expect(b.requestHash).not.toBe(a.requestHash!);
    expect(parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: null }, deps()).requestHash).toBeUndefined();
  });
  test('the field travels on the wire and decodes (v1 and v2 accept it; a bad one is refused)', () => {
    const e = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'k' }, deps());
    const decoded = decodeSessionCompleted(encodeSessionCompleted(e).value);
    expect(decoded.ok && decoded.event.requestHash).toBe(e.requestHash!);
    const bad = decodeSessionCompleted(JSON.stringify({ ...e, requestHash: 'nope' }));
    expect(bad.ok).toBe(false);
    expect(decodeSessionCompleted(JSON.stringify({ ...e, version: 2 })).ok).toBe(true);
  });
});

describe('the API refuses a reused key it remembers (best effort)', () => {
  test('single route: same body again passes, another body is 422 IDEMPOTENCY_KEY_REUSED', () => {
    const d = deps({ recentKeys: createRecentRequestKeys() });
    const first = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'k' }, d);
    expect(parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'k' }, d).id).toBe(first.id);
    let error: unknown;
    try {
      parseCompletion({ params: { sessionId: 's1' }, body: { ...body, score: 1 }, idempotencyKey: 'k' }, d);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((error as AppError).retriable).toBe(false);
    // The same key on another session is another event: fine.
    expect(parseCompletion({ params: { sessionId: 's2' }, body: { ...body, score: 1 }, idempotencyKey: 'k' }, d).id).not.toBe(first.id);
  });
  test('batch: the reusing item alone is rejected, with the reason on its idempotencyKey', () => {
    const d = deps({ recentKeys: createRecentRequestKeys() });
    const out = parseBatch({ items: [{ sessionId: 's1', idempotencyKey: 'k', ...body }, { sessionId: 's1', idempotencyKey: 'k', ...body, score: 7 }, { sessionId: 's3', ...body }] }, d);
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    const rejected = out[1]!;
    expect(!rejected.ok && rejected.issues[0]?.path).toBe('idempotencyKey');
    expect(!rejected.ok && rejected.issues[0]?.message).toStartWith('IDEMPOTENCY_KEY_REUSED');
  });
  test('the memory is bounded in entries and in time', () => {
    const keys = createRecentRequestKeys({ maxEntries: 2, ttlMs: 1_000 });
    expect(keys.check('a', 'h1', 0)).toBe('new');
    expect(keys.check('a', 'h2', 10)).toBe('conflict');
    expect(keys.check('b', 'h', 20)).toBe('new');
    expect(keys.check('c', 'h', 30)).toBe('new'); // pushes out 'a'
    expect(keys.size).toBe(2);
    expect(keys.check('a', 'h2', 40)).toBe('new'); // forgotten: best effort
    expect(keys.check('b', 'other', 2_000)).toBe('new'); // expired
  });
});

test('the problem mapper answers IDEMPOTENCY_KEY_REUSED with 422 and the message', async () => {
  const { toProblem } = await import('../../../src/http/problem.ts');
  const { problem } = toProblem(new AppError('IDEMPOTENCY_KEY_REUSED', 'reused'), { retryAfterSeconds: 1 });
  expect([problem.status, problem.code, problem.detail]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED', 'reused']);
});
