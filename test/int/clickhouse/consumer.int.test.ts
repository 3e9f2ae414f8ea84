/**
 * The ClickHouse consumer against REAL Kafka and ClickHouse: the shared runtime with our sink,
 * on a fresh topic, dead-letter topic, consumer group and database per file.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { createClickHouseInserter } from '../../../consumers/clickhouse/inserter.ts';
import { createClickHouseSink } from '../../../consumers/clickhouse/sink.ts';
import { createConsumer } from '../../../consumers/runtime/index.ts';
import { encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { createRegistry } from '../../../src/kernel/observability/metrics.ts';
import { readTopic, testKafka, topicFactory } from '../../support/kafka.ts';
import { makeEvent } from '../../support/events.ts';
import { waitFor } from '../../support/process.ts';
import { freshDatabase, select, type StoredEventRow, testClickHouse } from './support.ts';

const database = await freshDatabase('consumer');
const freshTopic = topicFactory();
const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop().catch(() => undefined)));
});

function startConsumer(topic: string, dlqTopic: string, groupId: string) {
  const consumer = createConsumer({
    kafka: testKafka,
    topic,
    dlqTopic,
    groupId,
    sink: createClickHouseSink({ inserter: createClickHouseInserter(testClickHouse, database) }),
    batchMaxEvents: 200,
    batchMaxWaitMs: 100,
    retryMaxBackoffMs: 1_000,
    logger: silentLogger(),
    registry: createRegistry(),
    fromBeginning: true,
  });
  running.push(consumer);
  return consumer;
}

async function produce(topic: string, messages: { key: string; value: string; headers?: Record<string, string> }[]) {
  const producer = testKafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
/** `n` events 250 ms apart from `base` (each test its own minutes, since the rollup has no tag). */
const events = (n: number, tag: string, base = T0): SessionCompleted[] =>
  Array.from({ length: n }, (_, i) =>
    makeEvent({
      receivedAt: base + i * 250,
      durationMs: 1_000 + i,
      clientLagMs: i % 7,
      outcome: (['completed', 'failed', 'abandoned'] as const)[i % 3],
      userId: `${tag}-user-${i % 5}`,
      sessionId: `${tag}-s-${i}`,
      ...(i % 2 === 0 ? { score: i / 2 } : {}),
    }),
  );

type StoredRow = StoredEventRow;

const storedRows = (tag: string) =>
  select<StoredRow>(
    testClickHouse,
    `SELECT event_id, session_id, user_id, outcome, score, duration_ms, toUInt32(started_at) AS started_at,
            toUInt32(completed_at) AS completed_at, toUInt32(received_at) AS received_at,
            client_to_api_lag_ms, api_to_analytics_lag_ms, ingested_at_ms
     FROM ${database}.session_events FINAL WHERE user_id LIKE '${tag}-%' ORDER BY session_id`,
  );
const counts = (tag: string) =>
  select<{ rows: number; events: number }>(
    testClickHouse,
    `SELECT count() AS rows, uniqExact(event_id) AS events FROM ${database}.session_events WHERE user_id LIKE '${tag}-%'`,
  ).then((r) => r[0]!);

describe('ClickHouse consumer on real Kafka and ClickHouse', () => {
  test('events in -> exactly one row per event, every column as projected', async () => {
    const topic = await freshTopic('ch-exact');
    const sent = events(300, 'exact');
    await produce(topic, sent.map(encodeSessionCompleted));
    const before = Date.now();
    const consumer = startConsumer(topic, await freshTopic('ch-exact-dlq'), `${topic}.group`);
    await consumer.start();
    await consumer.whenCaughtUp(30_000);

    const rows = await storedRows('exact');
    expect(await counts('exact')).toEqual({ rows: 300, events: 300 });
    const byId = new Map(sent.map((e) => [e.id, e]));
    for (const row of rows) {
      const e = byId.get(row.event_id)!;
      const received = Date.parse(e.receivedAt);
      expect(row).toEqual({
        event_id: e.id,
        session_id: e.data.sessionId,
        user_id: e.data.userId,
        outcome: e.data.outcome,
        score: e.data.score ?? null,
        duration_ms: Date.parse(e.data.completedAt) - Date.parse(e.data.startedAt),
        started_at: Math.floor(Date.parse(e.data.startedAt) / 1000),
        completed_at: Math.floor(Date.parse(e.data.completedAt) / 1000),
        received_at: Math.floor(received / 1000),
        client_to_api_lag_ms: received - Date.parse(e.data.completedAt),
        api_to_analytics_lag_ms: row.ingested_at_ms - received,
        ingested_at_ms: row.ingested_at_ms,
      });
      expect(row.ingested_at_ms).toBeGreaterThanOrEqual(before);
    }
  }, 60_000);

  test('a redelivery of everything (group offsets reset) does not skew dedupe-aware answers', async () => {
    const topic = await freshTopic('ch-redeliver');
    const group = `${topic}.group`;
    const dlq = await freshTopic('ch-redeliver-dlq');
    const base = T0 - 30 * 60_000;
    await produce(topic, events(200, 'redo', base).map(encodeSessionCompleted));
    const first = startConsumer(topic, dlq, group);
    await first.start();
    await first.whenCaughtUp(30_000);
    await first.stop();
    const firstRows = await storedRows('redo');

    // What a crash between insert and commit does, for every message at once.
    const admin = testKafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: group, topic, earliest: true });
    await admin.disconnect();
    const second = startConsumer(topic, dlq, group);
    await second.start();
    // Every message is written a second time: the rollup counts 400 deliveries.
    const rollup = await waitFor(
      'the rollup to count every delivery',
      () =>
        select<{ deliveries: number }>(
          testClickHouse,
          `SELECT countMerge(events) AS deliveries FROM ${database}.session_latency_1m
           WHERE minute >= toDateTime(${base / 1000}) AND minute < toDateTime(${base / 1000 + 120})`,
        ).then((r) => r[0]?.deliveries ?? 0),
      (n) => n >= 400,
      30_000,
    );
    expect(rollup).toBe(400);
    await second.whenCaughtUp(30_000);

    const c = await counts('redo');
    expect(c.events).toBe(200);
    expect(c.rows).toBeGreaterThanOrEqual(200); // 400 until merges catch up
    // FINAL keeps the first delivery: same rows, same ingestion instants, same lags as before.
    expect(await storedRows('redo')).toEqual(firstRows);
    await testClickHouse.command({ query: `OPTIMIZE TABLE ${database}.session_events FINAL` });
    expect(await counts('redo')).toEqual({ rows: 200, events: 200 });
    expect(await storedRows('redo')).toEqual(firstRows);
  }, 90_000);

  test('a poison message goes to the dead-letter topic and the events around it land', async () => {
    const topic = await freshTopic('ch-poison', 1);
    const dlq = await freshTopic('ch-poison-dlq', 1);
    const good = events(10, 'poison', T0 - 60 * 60_000);
    await produce(topic, [
      ...good.slice(0, 5).map(encodeSessionCompleted),
      { key: 'bad', value: '{"type":"SessionCompleted","version":1,"id":"not-a-uuid"' },
      ...good.slice(5).map(encodeSessionCompleted),
    ]);
    const consumer = startConsumer(topic, dlq, `${topic}.group`);
    await consumer.start();
    await consumer.whenCaughtUp(30_000);

    expect(await counts('poison')).toEqual({ rows: 10, events: 10 });
    const dead = await readTopic(dlq, (m) => m.length >= 1, 20_000);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.value).toBe('{"type":"SessionCompleted","version":1,"id":"not-a-uuid"');
  }, 60_000);
});
