import { describe, expect, test } from 'bun:test';
import { type RealisticPlan, analyzeAnswers, compareReadModels } from '../../../bench/lib/exactness.ts';
import type { Sent } from '../../../bench/lib/loadgen.ts';

const H = { 'content-type': 'application/json' };
const single = (index: number, user: string): RealisticPlan => ({
  index,
  kind: 'single',
  item: { sessionId: `s${index}`, userId: user, idempotencyKey: `k${index}` },
  path: `/sessions/s${index}/complete`,
  headers: H,
  body: '{}',
});
const retry = (index: number, of: RealisticPlan & { kind: 'single' }): RealisticPlan => ({ ...of, kind: 'retry', of: of.index, index });
const invalid = (index: number): RealisticPlan => ({ index, kind: 'invalid', invalid: 'bad-outcome', path: `/sessions/x${index}/complete`, headers: H, body: '{}' });
const answer = (plan: RealisticPlan, status: number, json?: unknown): Sent<RealisticPlan> => ({
  plan,
  warmup: false,
  status,
  latencyMs: 1,
  serviceMs: 1,
  ...(json === undefined ? {} : { json }),
});

const a = single(0, 'u1') as RealisticPlan & { kind: 'single' };
const b = single(1, 'u1');
const c = single(2, 'u2');
const batch: RealisticPlan = {
  index: 5,
  kind: 'batch',
  items: [{ sessionId: 'b1', userId: 'u2', idempotencyKey: 'kb1' }, undefined],
  path: '/sessions/complete',
  headers: H,
  body: '{}',
};
const good: Array<Sent<RealisticPlan>> = [
  answer(retry(3, a), 202, { eventId: 'e-a' }), // a retry may be answered before its original
  answer(a, 202, { eventId: 'e-a' }),
  answer(b, 202, { eventId: 'e-b' }),
  answer(c, 202, { eventId: 'e-c' }),
  answer(invalid(4), 422),
  answer(batch, 207, { results: [{ index: 0, status: 'accepted', eventId: 'e-b1' }, { index: 1, status: 'rejected' }] }),
];

describe('analyzeAnswers', () => {
  test('collects distinct accepted ids with their users; retries collapse and match', () => {
    const r = analyzeAnswers(good);
    expect([...r.accepted]).toEqual([
      ['e-a', 'u1'],
      ['e-b', 'u1'],
      ['e-c', 'u2'],
      ['e-b1', 'u2'],
    ]);
    expect(r.retries).toEqual({ sent: 1, sameEventId: 1, differentEventId: 0 });
    expect(r.invalid).toEqual({ sent: 1, answered422: 1, answeredOther: {} });
    expect(r.batches).toEqual({ sent: 1, itemsAccepted: 1, itemsRejected: 1, itemsWrong: 0 });
    expect(r.correct).toBe(6);
    expect(r.validNon2xx).toBe(0);
    expect(r.problems).toEqual([]);
    expect(r.statuses).toEqual({ '202': 4, '207': 1, '422': 1 });
  });

  test('a valid request refused, a transport error and a failed batch item count as valid non-2xx', () => {
    const r = analyzeAnswers([
      answer(a, 503),
      { ...answer(b, 0), error: 'TimeoutError: timed out' },
      answer(batch, 207, { results: [{ index: 0, status: 'failed' }, { index: 1, status: 'rejected' }] }),
    ]);
    expect(r.validNon2xx).toBe(3);
    expect(r.transportErrors).toEqual({ 'TimeoutError: timed out': 1 });
    expect(r.accepted.size).toBe(0);
  });

  test('contract breaches are problems: an accepted invalid body, a retry with another id, a wrong batch item', () => {
    const r = analyzeAnswers([
      answer(a, 202, { eventId: 'e-a' }),
      answer(retry(3, a), 202, { eventId: 'e-other' }),
      answer(invalid(4), 202, { eventId: 'e-x' }),
      answer(batch, 202, { results: [{ index: 0, status: 'accepted', eventId: 'e-b1' }, { index: 1, status: 'accepted', eventId: 'e-y' }] }),
    ]);
    expect(r.retries.differentEventId).toBe(1);
    expect(r.batches.itemsWrong).toBe(1);
    expect(r.problems.join('\n')).toContain('invalid body (bad-outcome) was accepted');
    expect(r.problems.join('\n')).toContain('different event id');
    expect(r.problems.join('\n')).toContain('batch item 1');
  });

  test('for a system that validates nothing (bare), any 2xx is correct and no ids are kept', () => {
    const r = analyzeAnswers([answer(a, 202, { status: 'accepted' }), answer(invalid(4), 202, { status: 'accepted' })], false);
    expect(r.correct).toBe(2);
    expect(r.accepted.size).toBe(0);
    expect(r.problems).toEqual([]);
  });
});

describe('compareReadModels', () => {
  const analysis = analyzeAnswers(good);
  const exact = {
    postgresEventIds: new Set(['e-a', 'e-b', 'e-c', 'e-b1']),
    postgresUserStats: new Map([
      ['u1', 2],
      ['u2', 2],
    ]),
    clickhouseEventIds: new Set(['e-a', 'e-b', 'e-c', 'e-b1']),
    clickhouseDeliveries: 5,
  };

  test('an exact snapshot is ok, with the counts reported', () => {
    const r = compareReadModels(analysis, exact);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.acceptedEvents).toBe(4);
    expect(r.postgres).toEqual({ rowsWithAcceptedIds: 4, rowsTotal: 4, userStatsSessionsSum: 4, usersExpected: 2, usersWithWrongCount: 0 });
    expect(r.clickhouse).toEqual({ uniqExactAcceptedIds: 4, uniqExactTotal: 4, deliveries: 5 });
  });

  test('a missing event, an extra event and a wrong user count are each reported', () => {
    const r = compareReadModels(analysis, {
      ...exact,
      postgresEventIds: new Set(['e-a', 'e-b', 'e-c']),
      postgresUserStats: new Map([
        ['u1', 3],
        ['u2', 2],
      ]),
      clickhouseEventIds: new Set(['e-a', 'e-b', 'e-c', 'e-b1', 'e-zzz']),
    });
    expect(r.ok).toBe(false);
    expect(r.postgres.rowsWithAcceptedIds).toBe(3);
    expect(r.clickhouse.uniqExactTotal).toBe(5);
    const text = r.problems.join('\n');
    expect(text).toContain('Postgres lacks 1 accepted events (e.g. e-b1)');
    expect(text).toContain('ClickHouse holds 1 events no client saw accepted (e.g. e-zzz)');
    expect(text).toContain('wrong for 1 users (u1: 3 instead of 2)');
    expect(text).toContain('user_stats sums to 5 sessions, not 4');
  });
});
