import { describe, expect, test } from 'bun:test';
import { ValidationError } from '../../../src/kernel/errors.ts';
import { decodeSessionCompleted, encodeSessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { eventIdFromIdempotencyKey, parseBatch, parseCompletion } from '../../../src/sessions/service.ts';

const NOW = Date.parse('2026-11-28T12:00:00.000Z');
const deps = { now: () => NOW, newEventId: () => '01938f4e-0000-7000-8000-000000000001', maxClockSkewMs: 300_000 };
const body = {
  userId: 'user-1',
  startedAt: '2026-11-28T11:00:00Z',
  completedAt: '2026-11-28T12:30:00+01:00',
  score: 42.5,
  attributes: { level: 3, mode: 'ranked', won: true },
};

const issuesFor = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ValidationError');
};

describe('parseCompletion', () => {
  test('builds the versioned envelope with UTC instants, the injected clock and a default outcome', () => {
    const event = parseCompletion({ params: { sessionId: 'sess-1' }, body, idempotencyKey: null }, deps);
    expect(event).toEqual({
      id: '01938f4e-0000-7000-8000-000000000001',
      type: 'SessionCompleted',
      version: 1,
      occurredAt: '2026-11-28T11:30:00.000Z',
      receivedAt: '2026-11-28T12:00:00.000Z',
      data: {
        sessionId: 'sess-1',
        userId: 'user-1',
        startedAt: '2026-11-28T11:00:00.000Z',
        completedAt: '2026-11-28T11:30:00.000Z',
        score: 42.5,
        outcome: 'completed',
        attributes: { level: 3, mode: 'ranked', won: true },
      },
    });
  });

  test('an Idempotency-Key gives the same UUIDv5 event id every time, scoped to the session', () => {
    const a = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'retry-7' }, deps);
    const b = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: 'retry-7' }, { ...deps, newEventId: () => 'other' });
    const c = parseCompletion({ params: { sessionId: 's2' }, body, idempotencyKey: 'retry-7' }, deps);
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(c.id).not.toBe(a.id);
    expect(a.id).toBe(eventIdFromIdempotencyKey('s1', 'retry-7'));
  });

  test('reports every failing field at once, with its path', () => {
    const issues = issuesFor(() =>
      parseCompletion(
        {
          params: { sessionId: 'bad id!' },
          body: { userId: '', startedAt: 'yesterday', completedAt: '2026-11-28T12:00:00Z', outcome: 'won', score: 'x', typo: 1 },
          idempotencyKey: 'has space',
        },
        deps,
      ),
    );
    const paths = issues.map((i) => i.path);
    for (const p of ['params.sessionId', 'headers.idempotency-key', 'body.userId', 'body.startedAt', 'body.outcome', 'body.score', 'body.typo']) {
      expect(paths).toContain(p);
    }
  });

  test('completedAt before startedAt, or too far in the future, is refused on completedAt', () => {
    const before = issuesFor(() =>
      parseCompletion({ params: { sessionId: 's' }, body: { ...body, completedAt: '2026-11-28T10:00:00Z' }, idempotencyKey: null }, deps),
    );
    expect(before).toEqual([{ path: 'body.completedAt', message: 'must not be before startedAt' }]);
    const future = issuesFor(() =>
      parseCompletion({ params: { sessionId: 's' }, body: { ...body, completedAt: '2026-11-28T12:06:00Z' }, idempotencyKey: null }, deps),
    );
    expect(future.map((i) => i.path)).toEqual(['body.completedAt']);
  });

  test('attributes: at most 32, flat values only', () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]));
    expect(issuesFor(() => parseCompletion({ params: { sessionId: 's' }, body: { ...body, attributes: many }, idempotencyKey: null }, deps)).map((i) => i.path)).toEqual(['body.attributes']);
    expect(issuesFor(() => parseCompletion({ params: { sessionId: 's' }, body: { ...body, attributes: { nested: { a: 1 } } }, idempotencyKey: null }, deps)).map((i) => i.path)).toEqual(['body.attributes.nested']);
  });

  test('what the API encodes, a consumer decodes to the same event', () => {
    const event = parseCompletion({ params: { sessionId: 's1' }, body, idempotencyKey: null }, deps);
    const message = encodeSessionCompleted(event);
    expect(message.key).toBe('user-1');
    expect(message.headers).toEqual({ 'event-type': 'SessionCompleted', 'event-version': '1', 'event-id': event.id, 'content-type': 'application/json' });
    expect(decodeSessionCompleted(new TextEncoder().encode(message.value))).toEqual({ ok: true, event });
  });
});

describe('the event JSON keeps its key order', () => {
  const keysOf = (json: string) => {
    const v = JSON.parse(json) as { data: object };
    return [Object.keys(v).join(','), Object.keys(v.data).join(',')];
  };
  const minimal = { userId: 'user-1', startedAt: body.startedAt, completedAt: body.completedAt };
  test('with and without score, attributes and an Idempotency-Key', () => {
    const encode = (b: object, key: string | null) =>
      encodeSessionCompleted(parseCompletion({ params: { sessionId: 'sess-1' }, body: b, idempotencyKey: key }, deps)).value;
    expect(keysOf(encode(body, null))).toEqual([
      'id,type,version,occurredAt,receivedAt,data',
      'sessionId,userId,startedAt,completedAt,score,outcome,attributes',
    ]);
    expect(keysOf(encode(minimal, 'k-1'))).toEqual(['id,type,version,occurredAt,receivedAt,requestHash,data', 'sessionId,userId,startedAt,completedAt,outcome']);
    expect(keysOf(encode({ ...minimal, score: 1 }, null))[1]).toBe('sessionId,userId,startedAt,completedAt,score,outcome');
    expect(keysOf(encode({ ...minimal, attributes: { a: 1 } }, 'k-2'))[1]).toBe('sessionId,userId,startedAt,completedAt,outcome,attributes');
  });
});

describe('parseBatch', () => {
  test('a bad item spoils only itself', () => {
    const outcomes = parseBatch(
      { items: [{ sessionId: 'a', ...body }, { sessionId: 'b', ...body, userId: '' }, 'not an object', { sessionId: 'c', idempotencyKey: 'k', ...body }] },
      deps,
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, true]);
    const second = outcomes[1];
    expect(second && !second.ok && second.issues.map((i) => i.path)).toEqual(['userId', 'userId']);
    const last = outcomes[3];
    expect(last?.ok && last.event.id).toBe(eventIdFromIdempotencyKey('c', 'k'));
  });

  test('the envelope itself is validated: 1 to 500 items', () => {
    expect(issuesFor(() => parseBatch({ items: [] }, deps)).map((i) => i.path)).toEqual(['body.items']);
    expect(issuesFor(() => parseBatch({ items: Array(501).fill({}) }, deps)).map((i) => i.path)).toEqual(['body.items']);
    expect(issuesFor(() => parseBatch([], deps)).map((i) => i.path)).toEqual(['body']);
  });
});
