import { describe, expect, test } from 'bun:test';
import { brokerKillTimeline, busiestLeader, clientFigures, controllerEvents, coordinatorPartition, javaStringHash, histogramDelta, histogramQuantile, longestGapMs, parseHistogram, shareWithin } from '../../../scripts/lib/drill/measure.ts';

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

  test('the share within a goal: the SLO form of "p99 under the goal", read at a bucket bound', () => {
    // The 22:15 fresh-clone run: 99.36 % of the ClickHouse events within 2 s, while the p99's
    // bucket is (1.75, 2], so its upper bound alone (2) could not show "under 2 s".
    const h = { buckets: new Map([[1.75, 8481], [2, 8520], [2.5, 8575], [Number.POSITIVE_INFINITY, 8575]]), count: 8575 };
    expect(histogramQuantile(h, 0.99)).toBe(2);
    expect(shareWithin(h, 2)).toBeCloseTo(0.99359, 4);
    expect(shareWithin(h, 1.75)).toBeCloseTo(0.98904, 4);
    expect(shareWithin(h, 1.9)).toBeUndefined(); // not a bound: the histogram cannot say
    expect(shareWithin({ buckets: new Map(), count: 0 }, 2)).toBeUndefined();
  });

  test('the broker to kill leads the most partitions', () => {
    expect(busiestLeader([1, 2, 2, 3, 2, 1])).toBe(2);
    expect(busiestLeader([3, 1])).toBe(1);
    expect(busiestLeader([-1])).toBeUndefined();
  });

  test("a broker kill's controller side, read from the brokers' logs", () => {
    const at = (t: string) => Date.parse(`2026-12-03T${t}Z`);
    const log1 = [
      '[2026-12-03 17:00:00,100] INFO [QuorumController id=1] Becoming the active controller at epoch 3, next write offset 1. (org.apache.kafka.controller.QuorumController)',
      '[2026-12-03 17:00:01,000] INFO [QuorumController id=1] Fencing broker 3 because its session has timed out. (org.apache.kafka.controller.ReplicationControlManager)',
      '[2026-12-03 17:00:02,000] INFO Sent auto-creation request for Set(__consumer_offsets) to the active controller. (kafka.server.DefaultAutoTopicCreationManager)',
    ].join('\n');
    const log2 = [
      '[2026-12-03 16:59:00,000] INFO [QuorumController id=2] Becoming the active controller at epoch 2, next write offset 1. (org.apache.kafka.controller.QuorumController)',
      '[2026-12-03 17:10:01,900] INFO [QuorumController id=2] Becoming the active controller at epoch 4, next write offset 90. (org.apache.kafka.controller.QuorumController)',
      // Kafka 4.1's wording names the broker epoch
      '[2026-12-03 17:10:04,450] INFO [QuorumController id=2] Fencing broker 1 at epoch 13 because its session has timed out. (org.apache.kafka.controller.ReplicationControlManager)',
    ].join('\n');
    const events = [...controllerEvents(log1), ...controllerEvents(log2)];
    expect(events).toHaveLength(5);
    expect(events[0]).toEqual({ kind: 'active', node: 1, epoch: 3, at: at('17:00:00.100') });
    // node 1 was active (epoch 3 beats epoch 2) when it was killed; node 2 took over and fenced it
    expect(brokerKillTimeline(events, 1, at('17:10:00.000'))).toEqual({ wasController: true, newControllerAfterMs: 1_900, fencedAfterMs: 4_450 });
    // a broker that was not the controller: only its fencing
    expect(brokerKillTimeline(events, 3, at('17:00:00.500'))).toEqual({ wasController: false, fencedAfterMs: 500 });
  });

  test("a group's coordinator partition, as Kafka computes it from the group id", () => {
    // Java: "abc".hashCode() == 96354, "polygenelubricants".hashCode() == Integer.MIN_VALUE
    expect(javaStringHash('abc')).toBe(96_354);
    expect(javaStringHash('polygenelubricants')).toBe(-2_147_483_648);
    expect(javaStringHash('')).toBe(0);
    expect(coordinatorPartition('abc', 10)).toBe(4);
    expect(coordinatorPartition('polygenelubricants', 10)).toBe(0); // Utils.abs(MIN_VALUE) is 0
    // a negative hash: Java's "session-completed.clickhouse".hashCode() is -292663054
    expect(javaStringHash('session-completed.clickhouse')).toBe(-292_663_054);
    expect(coordinatorPartition('session-completed.clickhouse', 10)).toBe(4);
  });
});
