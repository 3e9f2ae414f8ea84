/**
 * The consumer runtime against a real Kafka, with a recording sink (our own port, not a mock of
 * Kafka): batching, commits only after the write, dead letters with their reason headers,
 * retry with backoff while the partition waits, and stop() interrupting a backoff.
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { registerCleanups } from '../../support/cleanups.ts';
import { Registry } from 'prom-client';
import { createConsumer, type BatchSink, type RunningConsumer, type SessionCompleted } from '../../../consumers/runtime/index.ts';
import { DLQ_HEADERS } from '../../../consumers/runtime/dead-letter.ts';
import { makeEvent } from '../../support/events.ts';
import type { GroupProtocol } from '../../../consumers/runtime/group-source.ts';
import { createTestTopic, type TestTopic } from '../../support/kafka.ts';
import { waitFor } from '../../support/process.ts';
import { testConsumerOptions } from '../../support/consumers.ts';
import { createLogger } from '../../../src/kernel/observability/logger.ts';

const cleanups = registerCleanups();

async function topicFor(name: string, partitions = 3): Promise<TestTopic> {
  const t = await createTestTopic(name, partitions);
  cleanups.push(() => t.cleanup());
  return t;
}

/** The group protocol of the describe block being run (each block runs every test under one). */
let protocol: GroupProtocol = 'classic';

function startConsumer(t: TestTopic, sink: BatchSink, over: Partial<Parameters<typeof createConsumer>[0]> = {}) {
  const registry = new Registry();
  const consumer = createConsumer(testConsumerOptions(t, sink, { groupProtocol: protocol, retryBaseBackoffMs: 20, registry, ...over }));
  cleanups.push(() => consumer.stop());
  return { consumer, registry };
}

class RecordingSink implements BatchSink {
  readonly name = 'recording';
  readonly batches: SessionCompleted[][] = [];
  failuresLeft = 0;
  onFailure: () => Promise<void> = async () => {};
  get events() {
    return this.batches.flat();
  }
  async write(events: readonly SessionCompleted[]) {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      await this.onFailure();
      throw new Error('sink down');
    }
    this.batches.push([...events]);
  }
}

function events(n: number, users = 10): SessionCompleted[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => makeEvent({ sessionId: `s-${i}`, userId: `u-${i % users}`, completedAt: now - 1000, clientLagMs: 1000, score: i }));
}

async function committed(t: TestTopic): Promise<Record<number, string>> {
  const [entry] = await t.admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] });
  return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

/** The commit of every partition that holds messages equals its high watermark. */
async function expectCommittedAtHighWatermarks(t: TestTopic) {
  const offsets = (await t.admin.fetchTopicOffsets(t.topic)).filter((o) => o.high !== o.low);
  expect(offsets.length).toBeGreaterThan(0);
  const c = await committed(t);
  for (const o of offsets) expect({ partition: o.partition, committed: c[o.partition] }).toEqual({ partition: o.partition, committed: o.high });
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .map((v) => v as typeof v & { metricName?: string })
    .filter((v) => v.metricName === undefined || v.metricName === name || v.metricName === `${name}_count`)
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

for (const groupProtocol of ['classic', 'consumer'] as const) describe(`consumer runtime (real Kafka, ${groupProtocol} group protocol)`, () => {
  beforeAll(() => {
    protocol = groupProtocol;
  });

  test('writes every event in batches of at most batchMaxEvents and commits up to the high watermark', async () => {
    const t = await topicFor('rt-batches');
    const sent = events(1_000);
    await t.send(sent);
    const sink = new RecordingSink();
    const { consumer, registry } = startConsumer(t, sink);
    await consumer.start();
    await consumer.whenCaughtUp(30_000);
    expect(new Set(sink.events.map((e) => e.id))).toEqual(new Set(sent.map((e) => e.id)));
    expect(Math.max(...sink.batches.map((b) => b.length))).toBeLessThanOrEqual(100);
    await expectCommittedAtHighWatermarks(t);
    expect(await metricValue(registry, 'consumer_events_written_total')).toBe(1_000);
    expect(await metricValue(registry, 'consumer_freshness_seconds')).toBe(1_000);
    const lag = await registry.getSingleMetric('consumer_lag_messages')!.get();
    const nonEmpty = (await t.admin.fetchTopicOffsets(t.topic)).filter((o) => o.high !== o.low).length;
    expect(lag.values.length).toBe(nonEmpty);
    expect(lag.values.every((v) => v.value === 0)).toBe(true);
    expect(consumer.isJoined?.()).toBe(true);
  });

  test('connects the store before joining, and times the resume after a join only when events were waiting', async () => {
    const waiting = await topicFor('rt-resume-waiting', 2);
    await waiting.send(events(50));
    const pings: boolean[] = [];
    const steps: string[] = [];
    const rehearsed: SessionCompleted[][] = [];
    const sink = new RecordingSink();
    const pinged: BatchSink = {
      name: sink.name,
      write: (e) => sink.write(e),
      ping: async () => void pings.push(first.consumer.isJoined?.() ?? false),
      rehearse: async (e) => {
        steps.push(`rehearse joined=${first.consumer.isJoined?.() ?? false}`);
        rehearsed.push([...e]);
      },
    };
    const first = startConsumer(waiting, pinged, { rehearsalEvents: 40, beforeJoin: () => steps.push(`beforeJoin joined=${first.consumer.isJoined?.() ?? false}`) });
    await first.consumer.start();
    await first.consumer.whenCaughtUp(30_000);
    expect(pings[0]).toBe(false); // the store was asked before the member held any partition
    // Then the rehearsal (made-up events, never written), then the hook, all before the join.
    expect(steps).toEqual(['rehearse joined=false', 'beforeJoin joined=false']);
    expect(rehearsed.map((b) => b.length)).toEqual([40]);
    expect(rehearsed[0]!.every((e) => e.data.userId.startsWith('rehearsal.'))).toBe(true);
    expect(sink.events.some((e) => e.data.userId.startsWith('rehearsal.'))).toBe(false);
    expect(sink.events).toHaveLength(50);
    expect(await metricValue(first.registry, 'consumer_rebalance_resume_seconds')).toBe(1);

    // Joined with nothing waiting: the first commit only says when traffic came, not counted.
    const idle = await topicFor('rt-resume-idle', 2);
    const second = startConsumer(idle, new RecordingSink());
    await second.consumer.start();
    await waitFor('the consumer joined', () => second.consumer.isJoined?.() === true, 20_000);
    await Bun.sleep(1_500);
    await idle.send(events(20));
    await second.consumer.whenCaughtUp(30_000);
    expect(await metricValue(second.registry, 'consumer_events_written_total')).toBe(20);
    expect(await metricValue(second.registry, 'consumer_rebalance_resume_seconds')).toBe(0);
  });

  test('events already older than batchMaxWaitMs when fetched are written at once, not a batch interval later', async () => {
    const t = await topicFor('rt-produced-age', 2);
    await t.send(events(30));
    const sink = new RecordingSink();
    // The consumer's clock runs 60 s ahead of the producer's: every event is 60 s old when
    // fetched. Counting from the fetch, a 30 s batch wait would hold them past this test's 10 s.
    const { consumer } = startConsumer(t, sink, { batchMaxEvents: 1_000, batchMaxWaitMs: 30_000, now: () => Date.now() + 60_000 });
    await consumer.start();
    await consumer.whenCaughtUp(10_000);
    expect(sink.events.length).toBe(30);
  });

  test('a partial batch is flushed after batchMaxWaitMs', async () => {
    const t = await topicFor('rt-wait', 1);
    const sink = new RecordingSink();
    const { consumer } = startConsumer(t, sink, { batchMaxEvents: 10_000, batchMaxWaitMs: 100 });
    await consumer.start();
    await t.send(events(5));
    await consumer.whenCaughtUp(15_000);
    expect(sink.events.length).toBe(5);
  });

  test('poison messages go to the DLQ with reason headers and the original bytes; the rest proceed', async () => {
    const t = await topicFor('rt-dlq', 2);
    const good = events(20);
    const poison = [
      { key: 'u-1', value: '{not json', headers: { 'x-trace': 'abc' } },
      { key: 'u-2', value: JSON.stringify({ ...good[0], version: 7 }) },
      { key: 'u-3', value: JSON.stringify({ ...good[0], data: { ...good[0]!.data, outcome: 'won' } }) },
    ];
    await t.send([...good.slice(0, 10), ...poison, ...good.slice(10)]);
    const sink = new RecordingSink();
    const { consumer, registry } = startConsumer(t, sink);
    await consumer.start();
    await consumer.whenCaughtUp(30_000);
    expect(new Set(sink.events.map((e) => e.id))).toEqual(new Set(good.map((e) => e.id)));

    const dead = await t.readDlq(3);
    expect(dead.length).toBe(3);
    const byKey = new Map(dead.map((d) => [d.key, d]));
    const notJson = byKey.get('u-1')!;
    expect(notJson.value).toBe('{not json');
    expect(notJson.headers['x-trace']).toBe('abc');
    expect(notJson.headers[DLQ_HEADERS.reasonKind]).toBe('not_json');
    expect(notJson.headers[DLQ_HEADERS.reason]).toStartWith('value is not JSON');
    expect(notJson.headers[DLQ_HEADERS.sourceTopic]).toBe(t.topic);
    expect(notJson.headers[DLQ_HEADERS.consumerGroup]).toBe(t.groupId);
    expect(Number(notJson.headers[DLQ_HEADERS.sourcePartition])).toBeGreaterThanOrEqual(0);
    expect(Number(notJson.headers[DLQ_HEADERS.sourceOffset])).toBeGreaterThanOrEqual(0);
    expect(byKey.get('u-2')!.headers[DLQ_HEADERS.reasonKind]).toBe('unsupported_version');
    expect(byKey.get('u-3')!.headers[DLQ_HEADERS.reasonKind]).toBe('invalid');
    expect(byKey.get('u-3')!.headers[DLQ_HEADERS.reason]).toContain('data.outcome');
    expect(await metricValue(registry, 'consumer_dead_letters_total')).toBe(3);
    await expectCommittedAtHighWatermarks(t);
  });

  test('a failing sink is retried with backoff while nothing is committed; then nothing is lost', async () => {
    const t = await topicFor('rt-retry', 1);
    const sent = events(50);
    await t.send(sent);
    const sink = new RecordingSink();
    sink.failuresLeft = 4;
    const commitsSeenWhileFailing: Array<Record<number, string>> = [];
    sink.onFailure = async () => {
      commitsSeenWhileFailing.push(await committed(t));
    };
    const { consumer, registry } = startConsumer(t, sink);
    await consumer.start();
    await consumer.whenCaughtUp(30_000);
    expect(commitsSeenWhileFailing.length).toBe(4);
    for (const c of commitsSeenWhileFailing) expect(c).toEqual({ 0: '-1' });
    expect(sink.events.map((e) => e.id)).toEqual(sent.map((e) => e.id)); // in partition order, once
    expect(await metricValue(registry, 'consumer_retries_total', { step: 'write' })).toBe(4);
  });

  test('stop() interrupts a long backoff, commits nothing unwritten, and a restart redelivers', async () => {
    const t = await topicFor('rt-stop', 1);
    const sent = events(30);
    await t.send(sent);
    const failing = new RecordingSink();
    failing.failuresLeft = 1_000;
    let failures = 0;
    failing.onFailure = async () => {
      failures += 1;
    };
    const first = startConsumer(t, failing, { retryMaxBackoffMs: 60_000, retryBaseBackoffMs: 30_000 });
    await first.consumer.start();
    await waitFor('the first failed write', () => failures > 0, 20_000, 20);
    expect(failures).toBe(1);
    const t0 = performance.now();
    await first.consumer.stop();
    expect(performance.now() - t0).toBeLessThan(10_000); // not the 15-30 s backoff
    expect(failures).toBe(2); // one last attempt at stop
    expect(await committed(t)).toEqual({ 0: '-1' });

    const healthy = new RecordingSink();
    const second = startConsumer(t, healthy);
    await second.consumer.start();
    await second.consumer.whenCaughtUp(30_000);
    expect(healthy.events.map((e) => e.id)).toEqual(sent.map((e) => e.id));
  });

  test('whenCaughtUp rejects after its deadline when the consumer cannot catch up', async () => {
    const t = await topicFor('rt-timeout', 1);
    await t.send(events(3));
    const sink = new RecordingSink();
    sink.failuresLeft = 1_000;
    const { consumer } = startConsumer(t, sink);
    await consumer.start();
    await expect(consumer.whenCaughtUp(1_000)).rejects.toThrow(/did not catch up/);
  });
});

describe('consumer runtime (real Kafka, classic group protocol): scale-in', () => {
  beforeAll(() => {
    protocol = 'classic';
  });

  test('a member still draining when its group rebalances rejoins with no partitions: the others take them all at once', async () => {
    const t = await topicFor('rt-leaving', 4);
    // Each member's assignments, read from its own "joined the group" log lines.
    const joins = new Map<string, number[][]>();
    const loggerFor = (name: string) =>
      createLogger({ LOG_LEVEL: 'info' }, {}, {
        write(line: string) {
          const entry = JSON.parse(line) as { msg?: string; partitions?: number[] };
          if (entry.msg === 'joined the group') joins.set(name, [...(joins.get(name) ?? []), entry.partitions ?? []]);
        },
      });
    const last = (name: string) => joins.get(name)?.at(-1);
    const fast = { heartbeatIntervalMs: 250, sessionTimeoutMs: 6_000 };

    const a = startConsumer(t, new RecordingSink(), { ...fast, logger: loggerFor('a') });
    await a.consumer.start();
    await waitFor('a joined with every partition', () => last('a')?.length === 4, 20_000);

    // b's writes hang once `holding` is set, so its stop() stays in the drain.
    let holding = false;
    let writing = false;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const bSink: BatchSink = {
      name: 'b',
      write: async () => {
        if (!holding) return;
        writing = true;
        await held;
      },
    };
    const b = startConsumer(t, bSink, { ...fast, logger: loggerFor('b') });
    await b.consumer.start();
    await waitFor('a and b share the partitions', () => (last('b')?.length ?? 0) > 0 && (last('a')?.length ?? 0) < 4, 20_000);
    holding = true;
    await t.send(events(400, 80)); // 80 users: every partition gets some
    await waitFor('b is writing a batch', () => writing, 20_000);
    const bStopped = b.consumer.stop(); // drains: held in that write

    // A third member joins while b drains: the group rebalances and b rejoins, saying it leaves.
    const bJoins = joins.get('b')!.length;
    const c = startConsumer(t, new RecordingSink(), { ...fast, logger: loggerFor('c') });
    await c.consumer.start();
    await waitFor('b rejoined while draining', () => joins.get('b')!.length > bJoins, 20_000);
    expect(last('b')).toEqual([]);
    await waitFor('a and c hold every partition', () => [...(last('a') ?? []), ...(last('c') ?? [])].length === 4, 20_000);
    expect([...last('a')!, ...last('c')!].sort()).toEqual([0, 1, 2, 3]);

    release();
    await bStopped;
    // Whatever b had not committed is read again by its new owners: nothing is lost.
    await a.consumer.whenCaughtUp(30_000);
    await expectCommittedAtHighWatermarks(t);
  });
});
