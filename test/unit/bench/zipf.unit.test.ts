import { describe, expect, test } from 'bun:test';
import { ZipfSampler, mulberry32 } from '../../../bench/lib/zipf.ts';

describe('mulberry32', () => {
  test('the same seed gives the same sequence, in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(8)()).not.toBe(mulberry32(7)());
  });
});

describe('ZipfSampler', () => {
  test('probabilities follow 1/k^s and sum to 1', () => {
    const z = new ZipfSampler(100, 1, mulberry32(1));
    let sum = 0;
    for (let k = 1; k <= 100; k++) sum += z.probability(k);
    expect(sum).toBeCloseTo(1, 10);
    expect(z.probability(1) / z.probability(2)).toBeCloseTo(2, 10);
    expect(z.probability(1) / z.probability(10)).toBeCloseTo(10, 10);
    expect(z.probability(0)).toBe(0);
    expect(z.probability(101)).toBe(0);
  });

  test('s = 0 is uniform', () => {
    const z = new ZipfSampler(4, 0, mulberry32(1));
    for (let k = 1; k <= 4; k++) expect(z.probability(k)).toBeCloseTo(0.25, 12);
  });

  test('samples stay in 1..n and their frequencies match the probabilities', () => {
    const z = new ZipfSampler(1000, 1.1, mulberry32(42));
    const counts = new Map<number, number>();
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const k = z.sample();
      expect(k >= 1 && k <= 1000).toBe(true);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const k of [1, 2, 5, 50]) {
      const expected = z.probability(k) * n;
      expect(Math.abs((counts.get(k) ?? 0) - expected)).toBeLessThan(5 * Math.sqrt(expected) + 5);
    }
    // Skewed: the top 1% of users do far more than 1% of the sessions.
    let top = 0;
    for (let k = 1; k <= 10; k++) top += counts.get(k) ?? 0;
    expect(top / n).toBeGreaterThan(0.3);
  });

  test('a random source at its extremes maps to the first and the last rank', () => {
    expect(new ZipfSampler(10, 1, () => 0).sample()).toBe(1);
    expect(new ZipfSampler(10, 1, () => 0.9999999999).sample()).toBe(10);
  });

  test('bad parameters are refused', () => {
    expect(() => new ZipfSampler(0, 1, Math.random)).toThrow(RangeError);
    expect(() => new ZipfSampler(10, -1, Math.random)).toThrow(RangeError);
    expect(() => new ZipfSampler(1.5, 1, Math.random)).toThrow(RangeError);
  });
});
