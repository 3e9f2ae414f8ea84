import { describe, expect, test } from 'bun:test';
import { csvChunks, csvField, csvLine } from '../../../consumers/postgres/copy-csv.ts';
import { applyRows, compareVersions, projectBatch, toSessionRow, type SessionRow } from '../../../consumers/postgres/projection.ts';
import { upSection } from '../../../consumers/postgres/schema.ts';
import { allUserStats, userStatsOf } from '../../../consumers/postgres/stats.ts';
import type { SessionCompleted } from '../../../src/kernel/events/session-completed.ts';

function event(id: string, sessionId: string, userId: string, completedAt: string, extra: Partial<SessionCompleted['data']> = {}): SessionCompleted {
  return {
    id,
    type: 'SessionCompleted',
    version: 1,
    occurredAt: completedAt,
    receivedAt: '2026-01-01T12:00:00.000Z',
    data: {
      sessionId,
      userId,
      startedAt: '2026-01-01T10:00:00.000Z',
      completedAt,
      outcome: 'completed',
      ...extra,
    },
  };
}
const ID1 = '11111111-1111-4111-8111-111111111111';
const ID2 = '22222222-2222-4222-8222-222222222222';
const ID3 = '33333333-3333-4333-8333-333333333333';

describe('toSessionRow', () => {
  test('maps every field, computes the duration, defaults score and attributes', () => {
    const row = toSessionRow(event(ID1.toUpperCase(), 's1', 'u1', '2026-01-01T10:01:30.250Z'));
    expect(row).toEqual({
      sessionId: 's1',
      eventId: ID1,
      userId: 'u1',
      startedAt: '2026-01-01T10:00:00.000Z',
      completedAt: '2026-01-01T10:01:30.250Z',
      durationMs: 90_250,
      score: null,
      outcome: 'completed',
      attributes: {},
      receivedAt: '2026-01-01T12:00:00.000Z',
    });
  });
  test('keeps score 0 and the attributes', () => {
    const row = toSessionRow(event(ID1, 's1', 'u1', '2026-01-01T10:00:01.000Z', { score: 0, attributes: { a: 1 } }));
    expect(row.score).toBe(0);
    expect(row.attributes).toEqual({ a: 1 });
  });
});

describe('projectBatch', () => {
  test('one row per session: the latest completedAt wins, then the greater event id', () => {
    const rows = projectBatch([
      event(ID2, 's1', 'u1', '2026-01-01T10:05:00.000Z', { score: 2 }),
      event(ID1, 's1', 'u1', '2026-01-01T10:09:00.000Z', { score: 1 }),
      event(ID3, 's1', 'u1', '2026-01-01T10:01:00.000Z', { score: 3 }),
      event(ID1, 's2', 'u1', '2026-01-01T10:05:00.000Z', { score: 4 }),
      event(ID3, 's2', 'u1', '2026-01-01T10:05:00.000Z', { score: 5 }),
      event(ID2, 's2', 'u1', '2026-01-01T10:05:00.000Z', { score: 6 }),
    ]);
    expect(rows.map((r) => [r.sessionId, r.score])).toEqual([
      ['s1', 1],
      ['s2', 5],
    ]);
  });
  test('a redelivered event collapses to one row; the result does not depend on arrival order', () => {
    const a = event(ID1, 's1', 'u1', '2026-01-01T10:05:00.000Z');
    const b = event(ID2, 's1', 'u1', '2026-01-01T10:06:00.000Z');
    expect(projectBatch([a, b, a])).toEqual(projectBatch([b, a]));
    expect(projectBatch([])).toEqual([]);
  });
});

describe('compareVersions and applyRows (the upsert rule)', () => {
  const r = (completedAt: string, eventId: string) => ({ completedAt, eventId });
  test('orders by completedAt then eventId; equal is equal', () => {
    expect(compareVersions(r('2026-01-01T00:00:00.000Z', ID3), r('2026-01-01T00:00:00.001Z', ID1))).toBeLessThan(0);
    expect(compareVersions(r('2026-01-01T00:00:00.000Z', ID1), r('2026-01-01T00:00:00.000Z', ID2))).toBeLessThan(0);
    expect(compareVersions(r('2026-01-01T00:00:00.000Z', ID1), r('2026-01-01T00:00:00.000Z', ID1))).toBe(0);
  });
  test('replaces only with a strictly newer version, so applying twice changes nothing', () => {
    const table = new Map<string, SessionRow>();
    const rows = projectBatch([event(ID1, 's1', 'u1', '2026-01-01T10:05:00.000Z'), event(ID1, 's2', 'u2', '2026-01-01T10:05:00.000Z')]);
    expect(applyRows(table, rows)).toEqual(['s1', 's2']);
    expect(applyRows(table, rows)).toEqual([]);
    const older = projectBatch([event(ID2, 's1', 'u1', '2026-01-01T10:04:00.000Z')]);
    expect(applyRows(table, older)).toEqual([]);
    const newer = projectBatch([event(ID2, 's1', 'u1', '2026-01-01T10:05:00.000Z')]);
    expect(applyRows(table, newer)).toEqual(['s1']);
  });
});

describe('user stats math', () => {
  const rows = projectBatch([
    event(ID1, 's1', 'u1', '2026-01-01T10:01:00.000Z', { score: 10, outcome: 'completed' }),
    event(ID1, 's2', 'u1', '2026-01-01T10:03:00.000Z', { score: 30, outcome: 'failed' }),
    event(ID1, 's3', 'u1', '2026-01-01T10:02:00.000Z', { outcome: 'abandoned' }),
  ]);
  test('counts, totals, averages over scored sessions, best, outcomes and the last completion', () => {
    expect(userStatsOf('u1', rows)).toEqual({
      userId: 'u1',
      sessionsCompleted: 3,
      totalDurationMs: 60_000 + 180_000 + 120_000,
      avgDurationMs: 120_000,
      bestScore: 30,
      avgScore: 20,
      scoredSessions: 2,
      outcomes: { completed: 1, failed: 1, abandoned: 1 },
      lastCompletedAt: '2026-01-01T10:03:00.000Z',
    });
  });
  test('no score at all gives null best and average; no rows gives no stats', () => {
    const unscored = projectBatch([event(ID1, 's9', 'u9', '2026-01-01T10:01:00.000Z')]);
    expect(userStatsOf('u9', unscored)).toMatchObject({ bestScore: null, avgScore: null, scoredSessions: 0 });
    expect(userStatsOf('u9', [])).toBeUndefined();
  });
  test('a re-completion replaces the old contribution (best score can go down)', () => {
    const table = new Map<string, SessionRow>();
    applyRows(table, rows);
    applyRows(table, projectBatch([event(ID2, 's2', 'u1', '2026-01-01T10:04:00.000Z', { score: 5, outcome: 'completed' })]));
    expect(allUserStats(table).get('u1')).toMatchObject({
      sessionsCompleted: 3,
      bestScore: 10,
      avgScore: 7.5,
      outcomes: { completed: 2, failed: 0, abandoned: 1 },
      lastCompletedAt: '2026-01-01T10:04:00.000Z',
    });
  });
  test('a session moving to another user moves its contribution', () => {
    const table = new Map<string, SessionRow>();
    applyRows(table, rows);
    applyRows(table, projectBatch([event(ID2, 's1', 'u2', '2026-01-01T10:09:00.000Z', { score: 1 })]));
    const stats = allUserStats(table);
    expect(stats.get('u1')?.sessionsCompleted).toBe(2);
    expect(stats.get('u2')?.sessionsCompleted).toBe(1);
  });
});

describe('COPY CSV encoding', () => {
  test('NULL is an empty unquoted field; an empty string is quoted', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('""');
    expect(csvField(1.5)).toBe('1.5');
    expect(csvField('plain')).toBe('plain');
  });
  test('quotes fields with commas, quotes, newlines or edge spaces, doubling quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' pad')).toBe('" pad"');
    expect(csvField('back\\slash')).toBe('back\\slash');
  });
  test('one line per row in staging column order, attributes as quoted JSON', () => {
    const [row] = projectBatch([event(ID1, 's1', 'u1', '2026-01-01T10:01:00.000Z', { score: 2, attributes: { k: 'v' } })]);
    expect(csvLine(row!)).toBe(
      `s1,${ID1},u1,2026-01-01T10:00:00.000Z,2026-01-01T10:01:00.000Z,60000,2,completed,"{""k"":""v""}",2026-01-01T12:00:00.000Z\n`,
    );
  });
  test('chunks concatenate to the full text', () => {
    const rows = projectBatch(Array.from({ length: 50 }, (_, i) => event(ID1, `s${i}`, 'u1', '2026-01-01T10:01:00.000Z')));
    const chunks = [...csvChunks(rows, 200)];
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(rows.map(csvLine).join(''));
  });
});

describe('migration files', () => {
  test('upSection takes the text between migrate:up and migrate:down', () => {
    expect(upSection('-- migrate:up\nCREATE TABLE t ();\n-- migrate:down\nDROP TABLE t;')).toBe('CREATE TABLE t ();');
    expect(() => upSection('CREATE TABLE t ();')).toThrow();
  });
});
