import { describe, expect, test } from 'bun:test';
import { histogramQuantileUpperBound, latencyWindows, parsePrometheusHistogram, percentileSorted, summarizeLatencies } from '../../../bench/lib/stats.ts';

describe('percentileSorted (nearest rank)', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  test('p50 of 1..10 is 5, p90 is 9, p100 is the maximum', () => {
    expect(percentileSorted(xs, 0.5)).toBe(5);
    expect(percentileSorted(xs, 0.9)).toBe(9);
    expect(percentileSorted(xs, 1)).toBe(10);
  });

  test('always an observed value, never an interpolation', () => {
    expect(percentileSorted([10, 20], 0.5)).toBe(10);
    expect(percentileSorted([10, 20], 0.51)).toBe(20);
  });

  test('float noise in q * n does not move the rank (0.07 * 100 = 7.000000000000001)', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileSorted(hundred, 0.07)).toBe(7);
    expect(percentileSorted(hundred, 0.29)).toBe(29);
  });

  test('p0 is the minimum; a single sample is every percentile', () => {
    expect(percentileSorted(xs, 0)).toBe(1);
    expect(percentileSorted([7], 0.999)).toBe(7);
  });

  test('p99.9 over fewer than 1,000 samples is the maximum', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentileSorted(hundred, 0.999)).toBe(100);
    expect(percentileSorted(hundred, 0.99)).toBe(99);
  });

  test('empty gives NaN; a quantile outside [0, 1] throws', () => {
    expect(percentileSorted([], 0.5)).toBeNaN();
    expect(() => percentileSorted(xs, 1.5)).toThrow(RangeError);
  });
});

describe('summarizeLatencies', () => {
  test('sorts its input without changing it, and rounds to hundredths', () => {
    const input = [3.3333, 1.1111, 2.2222];
    const s = summarizeLatencies(input);
    expect(input).toEqual([3.3333, 1.1111, 2.2222]);
    expect(s).toEqual({ count: 3, p50Ms: 2.22, p90Ms: 3.33, p99Ms: 3.33, p999Ms: 3.33, maxMs: 3.33, meanMs: 2.22 });
  });

  test('1,000 samples: p99 is the 990th, p99.9 the 999th value', () => {
    const s = summarizeLatencies(Array.from({ length: 1000 }, (_, i) => 1000 - i));
    expect(s.p99Ms).toBe(990);
    expect(s.p999Ms).toBe(999);
    expect(s.maxMs).toBe(1000);
  });
});

describe('Prometheus histograms', () => {
  const text = [
    '# HELP consumer_freshness_seconds x',
    '# TYPE consumer_freshness_seconds histogram',
    'consumer_freshness_seconds_bucket{le="0.1",consumer="postgres",service="c"} 10',
    'consumer_freshness_seconds_bucket{le="0.5",consumer="postgres",service="c"} 90',
    'consumer_freshness_seconds_bucket{le="1",consumer="postgres",service="c"} 99',
    'consumer_freshness_seconds_bucket{le="+Inf",consumer="postgres",service="c"} 100',
    'consumer_freshness_seconds_sum{consumer="postgres"} 31',
    'consumer_freshness_seconds_count{consumer="postgres"} 100',
    'other_bucket{le="1"} 5',
  ].join('\n');

  test('parses the cumulative buckets of one histogram, +Inf included', () => {
    expect(parsePrometheusHistogram(text, 'consumer_freshness_seconds')).toEqual([
      { le: 0.1, count: 10 },
      { le: 0.5, count: 90 },
      { le: 1, count: 99 },
      { le: Infinity, count: 100 },
    ]);
  });

  test('sums series that differ only in other labels', () => {
    const two = `${text}\nconsumer_freshness_seconds_bucket{le="0.1",consumer="other"} 5`;
    expect(parsePrometheusHistogram(two, 'consumer_freshness_seconds')[0]).toEqual({ le: 0.1, count: 15 });
  });

  test('a filter keeps only the series it accepts (e.g. POST requests)', () => {
    const http = [
      'http_request_duration_seconds_bucket{le="0.01",route="/a",method="POST",status="202"} 8',
      'http_request_duration_seconds_bucket{le="+Inf",route="/a",method="POST",status="202"} 10',
      'http_request_duration_seconds_bucket{le="0.01",route="/healthz",method="GET",status="200"} 100',
      'http_request_duration_seconds_bucket{le="+Inf",route="/healthz",method="GET",status="200"} 100',
    ].join('\n');
    expect(parsePrometheusHistogram(http, 'http_request_duration_seconds', (l) => l.includes('method="POST"'))).toEqual([
      { le: 0.01, count: 8 },
      { le: Infinity, count: 10 },
    ]);
  });

  test('a quantile is the upper bound of the bucket holding its rank', () => {
    const b = parsePrometheusHistogram(text, 'consumer_freshness_seconds');
    expect(histogramQuantileUpperBound(b, 0.5)).toBe(0.5);
    expect(histogramQuantileUpperBound(b, 0.1)).toBe(0.1);
    expect(histogramQuantileUpperBound(b, 0.99)).toBe(1);
    expect(histogramQuantileUpperBound(b, 0.999)).toBeNull(); // in +Inf: no finite bound
    expect(histogramQuantileUpperBound([], 0.5)).toBeNull();
  });
});

describe('latencyWindows', () => {
  test('splits samples into windows from the earliest send, each with its own percentiles', () => {
    const samples = [
      { startS: 100.2, latencyMs: 50 },
      { startS: 100.0, latencyMs: 1 },
      { startS: 109.9, latencyMs: 2 },
      { startS: 110.0, latencyMs: 3 },
      { startS: 125.5, latencyMs: 4 },
    ];
    const w = latencyWindows(samples, 10);
    expect(w.map((x) => [x.fromS, x.toS])).toEqual([[0, 10], [10, 20], [20, 30]]);
    expect(w.map((x) => x.count)).toEqual([3, 1, 1]);
    expect(w[0]).toMatchObject({ p50Ms: 2, p99Ms: 50, maxMs: 50 });
    expect(w[2]).toMatchObject({ p99Ms: 4 });
  });

  test('keeps an empty window in the middle so the series stays regular', () => {
    const w = latencyWindows([{ startS: 0, latencyMs: 1 }, { startS: 25, latencyMs: 2 }], 10);
    expect(w.map((x) => x.count)).toEqual([1, 0, 1]);
    expect(Number.isNaN(w[1]!.p99Ms)).toBe(true);
  });

  test('no samples give no windows, and a non-positive window is refused', () => {
    expect(latencyWindows([], 10)).toEqual([]);
    expect(() => latencyWindows([{ startS: 0, latencyMs: 1 }], 0)).toThrow(RangeError);
  });
});
