import { describe, expect, test } from 'bun:test';
import { ValidationError } from '../../../src/kernel/errors.ts';
import { decodeCursor, encodeCursor, parseListRequest, parseSessionParams } from '../../../src/reads/model.ts';

function issuesOf(fn: () => unknown): Array<{ path: string }> {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((i) => ({ path: i.path }));
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('read route input', () => {
  test('a cursor round-trips and is opaque url-safe text', () => {
    const c = { completedAt: '2026-01-01T10:00:00.123Z', sessionId: 's:1.a_b-c' };
    const text = encodeCursor(c);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(c);
  });
  test('a forged or damaged cursor is rejected', () => {
    expect(decodeCursor('not a cursor!')).toBeUndefined();
    expect(decodeCursor(Buffer.from('[1,2]').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('["2026-01-01T00:00:00Z","bad id"]').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('{').toString('base64url'))).toBeUndefined();
  });
  test('limit defaults to 20 and is coerced from the query string', () => {
    expect(parseListRequest({ userId: 'u1' }, {})).toEqual({ userId: 'u1', limit: 20, before: undefined });
    expect(parseListRequest({ userId: 'u1' }, { limit: '5' }).limit).toBe(5);
  });
  test('bad input names every field at fault', () => {
    expect(issuesOf(() => parseListRequest({ userId: 'bad id' }, { limit: '0' }))).toEqual([
      { path: 'params.userId' },
      { path: 'query.limit' },
    ]);
    expect(issuesOf(() => parseListRequest({ userId: 'u' }, { limit: '101' }))).toEqual([{ path: 'query.limit' }]);
    expect(issuesOf(() => parseListRequest({ userId: 'u' }, { limit: '2.5' }))).toEqual([{ path: 'query.limit' }]);
    expect(issuesOf(() => parseListRequest({ userId: 'u' }, { before: 'zzz' }))).toEqual([{ path: 'query.before' }]);
    expect(issuesOf(() => parseSessionParams({ sessionId: 'x'.repeat(129) }))).toEqual([{ path: 'params.sessionId' }]);
  });
});
