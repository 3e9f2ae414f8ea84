/**
 * The KIP-848 adapter's pure parts: how a client message becomes the run loop's SourceMessage
 * (what a dead letter is made from), and how a slice of the stream is split per partition.
 */
import { describe, expect, test } from 'bun:test';
import { toDeadLetter } from '../../../consumers/runtime/dead-letter.ts';
import { byPartition, toSourceMessage } from '../../../consumers/runtime/sources/kip848-source.ts';

const message = (over: Partial<Parameters<typeof toSourceMessage>[0]> = {}) => ({
  key: Buffer.from('u-1'),
  value: Buffer.from('{"id":"e1"}'),
  headers: new Map<Buffer, Buffer>(),
  offset: 41n,
  timestamp: 1_764_000_000_123n,
  ...over,
});

describe('a client message as the run loop reads it', () => {
  test('offsets and timestamps become the decimal strings the run loop and the DLQ headers use', () => {
    const m = toSourceMessage(message());
    expect(m.offset).toBe('41');
    expect(m.timestamp).toBe('1764000000123');
    expect(m.key?.toString()).toBe('u-1');
    expect(m.value?.toString()).toBe('{"id":"e1"}');
    expect(m.headers).toBeUndefined();
  });

  test('a missing key or value is null, as kafkajs gives it', () => {
    const m = toSourceMessage(message({ key: undefined as unknown as Buffer, value: undefined as unknown as Buffer }));
    expect(m.key).toBeNull();
    expect(m.value).toBeNull();
  });

  test('headers are kept by name, so a dead letter carries them like one from the classic adapter', () => {
    const headers = new Map([[Buffer.from('x-trace'), Buffer.from('abc')], [Buffer.from('dlq-reason'), Buffer.from('forged')]]);
    const m = toSourceMessage(message({ headers }));
    expect(Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString()]))).toEqual({ 'x-trace': 'abc', 'dlq-reason': 'forged' });
    const dead = toDeadLetter(m, { topic: 't', partition: 3, groupId: 'g' }, { reason: 'bad', reasonKind: 'not_json' }, new Date(0));
    expect(dead.headers['x-trace']?.toString()).toBe('abc');
    expect(dead.headers['dlq-reason']).toBe('bad'); // the forged one is replaced by ours
    expect(dead.headers['dlq-source-offset']).toBe('41');
  });
});

describe('a slice of the stream, split per partition', () => {
  test('each partition keeps the order in which its messages were read', () => {
    const slice = [
      { partition: 1, offset: 5 },
      { partition: 0, offset: 9 },
      { partition: 1, offset: 6 },
      { partition: 0, offset: 10 },
      { partition: 2, offset: 0 },
    ];
    const split = byPartition(slice);
    expect([...split.keys()]).toEqual([1, 0, 2]);
    expect(split.get(1)!.map((m) => m.offset)).toEqual([5, 6]);
    expect(split.get(0)!.map((m) => m.offset)).toEqual([9, 10]);
    expect(split.get(2)!.map((m) => m.offset)).toEqual([0]);
  });

  test('an empty slice has no batch', () => {
    expect(byPartition([]).size).toBe(0);
  });
});
