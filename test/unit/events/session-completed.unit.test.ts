/**
 * Versions and upcasting: the decoder reads v1 and v2 from the same topic into one current shape,
 * and an old v1 event projects exactly as its v2 twin does.
 */
import { describe, expect, test } from 'bun:test';
import { toSessionEventRow } from '../../../consumers/clickhouse/rows.ts';
import { toSessionRow } from '../../../consumers/postgres/projection.ts';
import { classifyDecodeFailure } from '../../../consumers/runtime/decode.ts';
import {
  decodeSessionCompleted,
  encodeSessionCompleted,
  EVENT_VERSION,
  LATEST_EVENT_VERSION,
  type SessionCompleted,
  type SessionCompletedOnWire,
  SUPPORTED_EVENT_VERSIONS,
  upcastSessionCompleted,
  WIRE_SCHEMAS,
} from '../../../src/kernel/events/session-completed.ts';

const v1 = {
  id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  type: 'SessionCompleted',
  version: 1,
  occurredAt: '2026-11-28T10:05:00.000Z',
  receivedAt: '2026-11-28T10:05:00.217Z',
  data: {
    sessionId: 'sess-1',
    userId: 'user-1',
    startedAt: '2026-11-28T10:00:00.000Z',
    completedAt: '2026-11-28T10:05:00.000Z',
    score: 42.5,
    outcome: 'failed',
    attributes: { level: 3, mode: 'ranked', won: false },
  },
} as const;
const v2 = { ...v1, version: 2, data: { ...v1.data, clientVersion: 'ios/5.2.0+b311' } } as const;

const decoded = (value: unknown): SessionCompleted => {
  const result = decodeSessionCompleted(JSON.stringify(value));
  if (!result.ok) throw new Error(result.reason);
  return result.event;
};
const reasonOf = (value: unknown): string => {
  const result = decodeSessionCompleted(typeof value === 'string' ? value : JSON.stringify(value));
  if (result.ok) throw new Error('expected a decode failure');
  return result.reason;
};

describe('versions', () => {
  test('readers know v1 and v2; the API still writes v1 (readers first)', () => {
    expect(SUPPORTED_EVENT_VERSIONS).toEqual([1, 2]);
    expect(Object.keys(WIRE_SCHEMAS).map(Number)).toEqual([...SUPPORTED_EVENT_VERSIONS]);
    expect(LATEST_EVENT_VERSION).toBe(2);
    expect(EVENT_VERSION).toBe(1);
  });
});

describe('decodeSessionCompleted reads both versions into the current shape', () => {
  test('v1: every field as written, no clientVersion', () => {
    const event = decoded(v1);
    expect(event).toEqual(v1);
    expect(event.data.clientVersion).toBeUndefined();
  });

  test('v2: every field as written, clientVersion included', () => {
    expect(decoded(v2)).toEqual(v2);
  });

  test('v2 without clientVersion (the field is optional)', () => {
    const { clientVersion: _omit, ...data } = v2.data;
    expect(decoded({ ...v2, data })).toEqual({ ...v2, data });
  });

  test('both versions normalise instants to UTC with milliseconds', () => {
    for (const base of [v1, v2]) {
      const event = decoded({ ...base, data: { ...base.data, startedAt: '2026-11-28T11:00:00+01:00' } });
      expect(event.data.startedAt).toBe('2026-11-28T10:00:00.000Z');
    }
  });

  test('a v1 message carrying a field v1 does not know still decodes; the field is dropped (adding a field is compatible)', () => {
    const event = decoded({ ...v1, extra: 1, data: { ...v1.data, clientVersion: 'ios/5.2.0', somethingNew: true } });
    expect(event).toEqual(v1);
  });

  test('an invalid clientVersion makes the v2 message invalid (a dead letter of kind "invalid")', () => {
    const reason = reasonOf({ ...v2, data: { ...v2.data, clientVersion: 'has spaces' } });
    expect(reason).toStartWith('invalid SessionCompleted v2: data.clientVersion');
    expect(classifyDecodeFailure(reason)).toBe('invalid');
    expect(reasonOf({ ...v2, data: { ...v2.data, clientVersion: 'x'.repeat(65) } })).toContain('data.clientVersion');
  });

  test('a version no reader knows yet is unsupported, not invalid', () => {
    const reason = reasonOf({ ...v2, version: 3 });
    expect(reason).toBe('unsupported SessionCompleted version 3');
    expect(classifyDecodeFailure(reason)).toBe('unsupported_version');
    expect(classifyDecodeFailure(reasonOf({ ...v1, version: '1' }))).toBe('unsupported_version');
  });

  test('encode -> decode is the identity for both versions, headers included', () => {
    for (const event of [v1, v2] as const) {
      const message = encodeSessionCompleted(event);
      expect(message.headers['event-version']).toBe(String(event.version));
      expect(message.key).toBe(event.data.userId);
      expect(decoded(JSON.parse(message.value))).toEqual(event);
    }
  });
});

describe('upcastSessionCompleted', () => {
  test('maps each wire version to the current shape (v1 gains no invented values)', () => {
    const fromV1: SessionCompletedOnWire = { ...v1, data: { ...v1.data } };
    const fromV2: SessionCompletedOnWire = { ...v2, data: { ...v2.data } };
    expect(upcastSessionCompleted(fromV1)).toEqual(v1);
    expect(upcastSessionCompleted(fromV2)).toEqual(v2);
  });

  test('an old v1 event projects exactly as its v2 twin into Postgres and ClickHouse rows', () => {
    const old = decoded(v1);
    const twin = decoded(v2);
    expect(toSessionRow(old)).toEqual(toSessionRow(twin));
    expect(toSessionEventRow(old, 1_764_324_300_500)).toEqual(toSessionEventRow(twin, 1_764_324_300_500));
    expect(toSessionRow(old)).toEqual({
      sessionId: 'sess-1',
      eventId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      userId: 'user-1',
      startedAt: '2026-11-28T10:00:00.000Z',
      completedAt: '2026-11-28T10:05:00.000Z',
      durationMs: 300_000,
      score: 42.5,
      outcome: 'failed',
      attributes: { level: 3, mode: 'ranked', won: false },
      receivedAt: '2026-11-28T10:05:00.217Z',
    });
  });
});
