import { describe, expect, test } from 'bun:test';
import { backoffDelayMs, decideRetry } from '../../../consumers/runtime/backoff.ts';
import { heartbeatIntervalOf } from '../../../consumers/runtime/consumer.ts';
import { attempt } from '../../../consumers/runtime/results.ts';
import { bufferLimit, decideFlush, oldestWaitMs } from '../../../consumers/runtime/batching.ts';
import { DLQ_HEADERS, toDeadLetter } from '../../../consumers/runtime/dead-letter.ts';
import { classifyDecodeFailure, decodeMessage } from '../../../consumers/runtime/decode.ts';
import { OffsetBook, isCaughtUp, nextOffsets, partitionLag } from '../../../consumers/runtime/offsets.ts';
import { encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';

const event: SessionCompleted = {
  id: '6f1c1b1e-9a2b-4c3d-8e4f-0a1b2c3d4e5f',
  type: 'SessionCompleted',
  version: 1,
  occurredAt: '2026-01-01T10:05:00.000Z',
  receivedAt: '2026-01-01T10:05:00.100Z',
  data: {
    sessionId: 's-1',
    userId: 'u-1',
    startedAt: '2026-01-01T10:00:00.000Z',
    completedAt: '2026-01-01T10:05:00.000Z',
    outcome: 'completed',
    score: 42.5,
    attributes: { level: 3 },
  },
};

describe('decodeMessage', () => {
  test('a valid message becomes ok with the event', () => {
    const step = decodeMessage(Buffer.from(encodeSessionCompleted(event).value));
    expect(step).toEqual({ kind: 'ok', value: event });
  });

  const bad: Array<[string, string | null, string]> = [
    ['null value', null, 'empty'],
    ['not JSON', '{nope', 'not_json'],
    ['JSON null', 'null', 'not_object'],
    ['a JSON string', '"x"', 'not_object'],
    ['another event type', JSON.stringify({ ...event, type: 'SessionStarted' }), 'unknown_type'],
    ['an unknown version', JSON.stringify({ ...event, version: 9 }), 'unsupported_version'],
    ['a bad field', JSON.stringify({ ...event, data: { ...event.data, outcome: 'won' } }), 'invalid'],
  ];
  for (const [name, value, kind] of bad) {
    test(`${name} becomes a dead letter of kind ${kind}, with the decoder's reason`, () => {
      const step = decodeMessage(value === null ? null : Buffer.from(value));
      expect(step.kind).toBe('dlq');
      if (step.kind !== 'dlq') return;
      expect(step.reasonKind).toBe(kind as typeof step.reasonKind);
      expect(step.reason.length).toBeGreaterThan(0);
    });
  }

  test('an unrecognised reason is classified as other', () => {
    expect(classifyDecodeFailure('something new')).toBe('other');
  });
});

describe('backoffDelayMs', () => {
  const policy = { baseMs: 100, maxMs: 5_000 };
  test('doubles per attempt with equal jitter (between half and all of the step)', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(50);
    expect(backoffDelayMs(1, policy, () => 0.999999)).toBe(100);
    expect(backoffDelayMs(2, policy, () => 0)).toBe(100);
    expect(backoffDelayMs(4, policy, () => 0)).toBe(400);
  });
  test('is capped at maxMs, even for absurd attempt counts', () => {
    expect(backoffDelayMs(7, policy, () => 0.999999)).toBe(5_000);
    expect(backoffDelayMs(10_000, policy, () => 0.5)).toBe(3_750);
    expect(Number.isFinite(backoffDelayMs(1e9, policy))).toBe(true);
  });
  test('treats attempts below 1 as the first retry', () => {
    expect(backoffDelayMs(0, policy, () => 0)).toBe(50);
  });
});

describe('retry decisions', () => {
  const policy = { baseMs: 100, maxMs: 5_000 };
  test('a failure waits with backoff, however many there were', () => {
    expect(decideRetry(1, false, policy, () => 0)).toEqual({ kind: 'wait', ms: 50 });
    expect(decideRetry(1_000, false, policy, () => 0)).toEqual({ kind: 'wait', ms: 2_500 });
  });
  test('only a failure of the last-chance attempt (made during stop) gives up', () => {
    expect(decideRetry(1, true, policy)).toEqual({ kind: 'give_up' });
  });
  test('attempt turns a throw into retry with the error, and success into ok', async () => {
    const boom = new Error('db down');
    expect(await attempt(async () => {})).toEqual({ kind: 'ok', value: undefined });
    expect(await attempt(async () => { throw boom; })).toEqual({ kind: 'retry', error: boom });
  });
});

describe('decideFlush', () => {
  const base = { maxEvents: 100, maxWaitMs: 200, draining: false };
  test('idle with nothing buffered, even when draining', () => {
    expect(decideFlush({ ...base, buffered: 0, oldestAgeMs: 0 })).toEqual({ kind: 'idle' });
    expect(decideFlush({ ...base, buffered: 0, oldestAgeMs: 0, draining: true })).toEqual({ kind: 'idle' });
  });
  test('flushes a full batch at once, never more than maxEvents', () => {
    expect(decideFlush({ ...base, buffered: 100, oldestAgeMs: 0 })).toEqual({ kind: 'flush', count: 100 });
    expect(decideFlush({ ...base, buffered: 250, oldestAgeMs: 0 })).toEqual({ kind: 'flush', count: 100 });
  });
  test('waits for the rest of maxWaitMs while the batch is not full', () => {
    expect(decideFlush({ ...base, buffered: 5, oldestAgeMs: 50 })).toEqual({ kind: 'wait', ms: 150 });
    expect(decideFlush({ ...base, buffered: 5, oldestAgeMs: 199.5 })).toEqual({ kind: 'wait', ms: 1 });
  });
  test('flushes a partial batch once the oldest message has waited maxWaitMs, or when draining', () => {
    expect(decideFlush({ ...base, buffered: 5, oldestAgeMs: 200 })).toEqual({ kind: 'flush', count: 5 });
    expect(decideFlush({ ...base, buffered: 5, oldestAgeMs: 0, draining: true })).toEqual({ kind: 'flush', count: 5 });
  });
  test('the buffer holds two batches', () => {
    expect(bufferLimit(5_000)).toBe(10_000);
  });
});

describe('oldestWaitMs', () => {
  test('counts from production: an event that waited at the broker is not held a full interval more', () => {
    // fetched 10 ms ago, produced 450 ms ago (a fetch held by the broker): with a 200 ms batch wait, flush now
    expect(oldestWaitMs(10, 450)).toBe(450);
    expect(decideFlush({ buffered: 5, oldestAgeMs: oldestWaitMs(10, 450), maxEvents: 100, maxWaitMs: 200, draining: false })).toEqual({ kind: 'flush', count: 5 });
  });

  test('the time in the buffer still bounds the wait when the producer clock is behind or unreadable', () => {
    expect(oldestWaitMs(300, -5_000)).toBe(300);
    expect(oldestWaitMs(120, Number.NaN)).toBe(120);
    expect(oldestWaitMs(-1, -1)).toBe(0);
  });
});

describe('offset bookkeeping', () => {
  test('commits the highest offset + 1 per partition (the last, as the buffer keeps fetch order), exactly for int64', () => {
    const next = nextOffsets([
      { partition: 0, offset: '5' },
      { partition: 1, offset: '9007199254740993' },
      { partition: 0, offset: '6' },
      { partition: 0, offset: '7' },
    ]);
    expect(Object.fromEntries(next)).toEqual({ 0: '8', 1: '9007199254740994' });
  });

  test('a re-fetch after a rejoin is not buffered twice; a lost partition is forgotten', () => {
    const book = new OffsetBook();
    expect(book.accept(0, '10')).toBe(true);
    expect(book.accept(0, '11')).toBe(true);
    expect(book.accept(0, '10')).toBe(false);
    expect(book.accept(0, '11')).toBe(false);
    expect(book.accept(1, '10')).toBe(true);
    book.retainOnly(new Set([1]));
    expect(book.accept(0, '10')).toBe(true);
    expect(book.accept(1, '10')).toBe(false);
  });

  test('lag is the high watermark minus the commit, never negative', () => {
    const book = new OffsetBook();
    expect(partitionLag('100', book.committedOffset(0), 40n)).toBe(60);
    book.markCommitted(0, '90');
    expect(partitionLag('100', book.committedOffset(0), 40n)).toBe(10);
    expect(partitionLag('80', book.committedOffset(0), 40n)).toBe(0);
  });

  test('caught up when every non-empty partition has a commit at its high watermark', () => {
    const targets = [
      { partition: 0, high: '10', low: '0' },
      { partition: 1, high: '0', low: '0' },
      { partition: 2, high: '5', low: '5' },
    ];
    expect(isCaughtUp(targets, new Map([[0, '10']]))).toBe(true);
    expect(isCaughtUp(targets, new Map([[0, '11']]))).toBe(true);
    expect(isCaughtUp(targets, new Map([[0, '9']]))).toBe(false);
    expect(isCaughtUp(targets, new Map([[0, '-1']]))).toBe(false);
    expect(isCaughtUp(targets, new Map())).toBe(false);
  });
});

describe('toDeadLetter', () => {
  test('keeps the original key, value and headers and adds why and where from', () => {
    const message = {
      key: Buffer.from('u-1'),
      value: Buffer.from('{nope'),
      headers: { 'event-id': 'abc', 'content-type': 'application/json' },
      offset: '42',
      timestamp: '1767261900000',
    };
    const dl = toDeadLetter(
      message,
      { topic: 'session-completed', partition: 3, groupId: 'g' },
      { reason: 'value is not JSON: x', reasonKind: 'not_json' },
      new Date('2026-01-01T00:00:00.000Z'),
    );
    expect(dl.key).toBe(message.key);
    expect(dl.value).toBe(message.value);
    expect(dl.headers).toEqual({
      'event-id': 'abc',
      'content-type': 'application/json',
      [DLQ_HEADERS.reason]: 'value is not JSON: x',
      [DLQ_HEADERS.reasonKind]: 'not_json',
      [DLQ_HEADERS.sourceTopic]: 'session-completed',
      [DLQ_HEADERS.sourcePartition]: '3',
      [DLQ_HEADERS.sourceOffset]: '42',
      [DLQ_HEADERS.sourceTimestamp]: '1767261900000',
      [DLQ_HEADERS.consumerGroup]: 'g',
      [DLQ_HEADERS.failedAt]: '2026-01-01T00:00:00.000Z',
    });
  });
  test('bounds a very long reason', () => {
    const dl = toDeadLetter(
      { key: null, value: null, offset: '0', timestamp: '0' },
      { topic: 't', partition: 0, groupId: 'g' },
      { reason: 'x'.repeat(10_000), reasonKind: 'invalid' },
      new Date(0),
    );
    expect(String(dl.headers[DLQ_HEADERS.reason]).length).toBe(2_000);
  });
});

describe('heartbeatIntervalOf', () => {
  test('defaults to min(3 s, session / 3); a configured interval wins but never exceeds a third of the session', () => {
    expect(heartbeatIntervalOf({})).toBe(3_000);
    expect(heartbeatIntervalOf({ sessionTimeoutMs: 6_000 })).toBe(2_000);
    expect(heartbeatIntervalOf({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 250 })).toBe(250);
    expect(heartbeatIntervalOf({ sessionTimeoutMs: 6_000, heartbeatIntervalMs: 5_000 })).toBe(2_000);
  });
});
