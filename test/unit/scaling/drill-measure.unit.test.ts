import { describe, expect, test } from 'bun:test';
import { busiestLeader, clientFigures, histogramDelta, histogramQuantile, longestGapMs, parseHistogram } from '../../../scripts/lib/drill/measure.ts';

describe('drill arithmetic', () => {
  test('the longest stretch without a 202 counts the window edges', () => {
    expect(longestGapMs([1_000, 2_000, 9_000], 0, 10_000)).toBe(7_000);
    expect(longestGapMs([], 0, 6_000)).toBe(6_000);
    expect(longestGapMs([5_500], 0, 6_000)).toBe(5_500);
  });

  test("a phase's client figures: requests, 202s, 5xx and client errors per attempt", () => {
    const r = (n: number, a: number, s: number, t: number, ms = 10) => ({ p: 'x', n, a, s, t, ms });
    const f = clientFigures([r(1, 0, 503, 0), r(1, 1, 202, 1_000), r(2, 0, -1, 500), r(3, 0, 0, 600, 15_000), r(4, 0, 202, 2_000)], { name: 'x', from: 0, to: 3_000 });
    expect(f).toMatchObject({ requests: 4, acknowledged: 2, fiveXX: 1, clientErrors: 2, unanswered: 2, statuses: { '503': 1, '202': 2, '-1': 1, '0': 1 } });
    expect(f.longestNo202Ms).toBe(1_010);
  });

  test('error answers are counted by status and problem code, so a 503 says which refusal it was', () => {
    const r = (n: number, s: number, c?: string) => ({ p: 'x', n, a: 0, s, t: n, ms: 5, ...(c === undefined ? {} : { c }) });
    const f = clientFigures([r(1, 503, 'OVERLOADED'), r(2, 503, 'OVERLOADED'), r(3, 503, 'SHUTTING_DOWN'), r(4, 503), r(5, 202)], { name: 'x', from: 0, to: 10 });
    expect(f.statuses).toEqual({ '503 OVERLOADED': 2, '503 SHUTTING_DOWN': 1, '503': 1, '202': 1 });
    expect(f.fiveXX).toBe(4);
  });

  test('freshness quantiles from summed histogram deltas', () => {
    const text = (a: number, b: number, inf: number) =>
      [`consumer_freshness_seconds_bucket{le="0.5",consumer="p"} ${a}`, `consumer_freshness_seconds_bucket{le="1",consumer="p"} ${b}`, `consumer_freshness_seconds_bucket{le="+Inf",consumer="p"} ${inf}`, `consumer_freshness_seconds_count{consumer="p"} ${inf}`].join('\n');
    const before = parseHistogram(text(10, 10, 10), 'consumer_freshness_seconds');
    const after = parseHistogram(text(108, 109, 110), 'consumer_freshness_seconds');
    const d = histogramDelta(before, after);
    expect(d.count).toBe(100);
    expect(histogramQuantile(d, 0.5)).toBe(0.5);
    expect(histogramQuantile(d, 0.99)).toBe(1);
    expect(histogramQuantile(d, 0.995)).toBe(Number.POSITIVE_INFINITY);
    expect(histogramQuantile({ buckets: new Map(), count: 0 }, 0.99)).toBe(0);
  });

  test('the broker to kill leads the most partitions', () => {
    expect(busiestLeader([1, 2, 2, 3, 2, 1])).toBe(2);
    expect(busiestLeader([3, 1])).toBe(1);
    expect(busiestLeader([-1])).toBeUndefined();
  });
});
