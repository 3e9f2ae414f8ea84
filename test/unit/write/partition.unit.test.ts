import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { murmur2, partitionForKey } from '../../../src/kafka/partition.ts';
import { createRequire } from 'node:module';

// kafkajs's own Java-compatible implementation, the reference we must agree with.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: string) => number;

describe('partitionForKey', () => {
  test('agrees with kafkajs (and so with the Java client) on every key, ASCII or not', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
        expect(partitionForKey(key, n)).toBe((kafkajsMurmur2(key) & 0x7fffffff) % n);
      }),
      { numRuns: 2_000 },
    );
  });
  test('known values of the Java client', () => {
    // From Kafka's UtilsTest.testMurmur2.
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
  });
});
