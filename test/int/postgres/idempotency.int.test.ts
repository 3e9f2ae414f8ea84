/**
 * A reused Idempotency-Key, against the real Kafka and Postgres: events built by the API's own
 * code (parseCompletion) for one key with different bodies. The consumer keeps the first (in the
 * batch, and across batches through idempotency_keys), dead-letters the other as
 * IDEMPOTENCY_CONFLICT, counts it, and `npm run dlq -- list` shows it; an exact retry (same body)
 * is no conflict.
 */
import { expect, test } from 'bun:test';
import { Registry } from 'prom-client';
import { createPostgresSink } from '../../../consumers/postgres/sink.ts';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { DLQ_HEADERS } from '../../../consumers/runtime/dead-letter.ts';
import { createConsumer } from '../../../consumers/runtime/index.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { parseCompletion } from '../../../src/sessions/service.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { createTestTopic, readTopic, testKafka, waitGroupCaughtUp } from '../../support/kafka.ts';
import { runDlqCli } from '../runtime/poison-support.ts';
import { createScratchDb } from './pg-helpers.ts';

const cleanups = registerCleanups();
const NOW = Date.parse('2026-11-28T12:00:00.000Z');
let clock = NOW;
const deps = { now: () => (clock += 10), newEventId: () => Bun.randomUUIDv7(), maxClockSkewMs: 300_000 };
const request = (sessionId: string, key: string, over: { score?: number; completedAt?: string; userId?: string } = {}) =>
  parseCompletion(
    {
      params: { sessionId },
      body: { userId: over.userId ?? 'u-keys', startedAt: '2026-11-28T10:00:00Z', completedAt: over.completedAt ?? '2026-11-28T10:05:00Z', score: over.score ?? 1 },
      idempotencyKey: key,
    },
    deps,
  );

test('a key reused with another body: the first kept, the other dead-lettered as IDEMPOTENCY_CONFLICT (in one batch and across batches)', async () => {
  const t = await createTestTopic('pg-keys', 1);
  cleanups.push(() => t.cleanup());
  const db = await createScratchDb('t_keys');
  cleanups.push(() => db.cleanup());
  const registry = new Registry();
  const consumer = createConsumer({
    kafka: testKafka,
    topic: t.topic,
    dlqTopic: t.dlqTopic,
    groupId: t.groupId,
    sink: createPostgresSink(createPgSessionStore(db.pool), silentLogger()),
    batchMaxEvents: 100,
    batchMaxWaitMs: 50,
    retryMaxBackoffMs: 200,
    logger: silentLogger(),
    registry,
    fromBeginning: true,
  });
  cleanups.push(() => consumer.stop());
  await consumer.start();

  // Batch 1: s1's key used twice with different scores (in one batch), s2's first request, and an
  // exact retry of s2 (same body: not a conflict).
  const s1First = request('s1', 'k-1', { score: 10 });
  const s1Reuse = request('s1', 'k-1', { score: 99, completedAt: '2026-11-28T11:00:00Z' });
  const s2First = request('s2', 'k-2', { score: 20 });
  const s2Retry = request('s2', 'k-2', { score: 20 });
  expect(s1Reuse.id).toBe(s1First.id);
  expect(s1Reuse.requestHash).not.toBe(s1First.requestHash!);
  expect(s2Retry.requestHash).toBe(s2First.requestHash!);
  await t.send([s1First, s1Reuse, s2First, s2Retry]);
  await waitGroupCaughtUp(t);
  // Batch 2, later: s2's key reused for a later, different completion (would win on completedAt).
  const s2Reuse = request('s2', 'k-2', { score: 77, completedAt: '2026-11-28T11:30:00Z' });
  await t.send([s2Reuse]);
  await waitGroupCaughtUp(t);

  const { rows } = await db.pool.query<{ session_id: string; event_id: string; score: number }>('SELECT session_id, event_id::text AS event_id, score FROM sessions ORDER BY session_id');
  expect(rows).toEqual([
    { session_id: 's1', event_id: s1First.id, score: 10 },
    { session_id: 's2', event_id: s2First.id, score: 20 },
  ]);
  const recorded = await db.pool.query<{ event_id: string; request_hash: string }>('SELECT event_id::text AS event_id, request_hash FROM idempotency_keys ORDER BY request_hash');
  expect(new Map(recorded.rows.map((r) => [r.event_id, r.request_hash]))).toEqual(
    new Map([
      [s1First.id, s1First.requestHash!],
      [s2First.id, s2First.requestHash!],
    ]),
  );

  const dlq = await readTopic(t.dlqTopic, (got) => got.length >= 2, 20_000);
  expect(dlq.map((d) => d.headers[DLQ_HEADERS.reasonKind])).toEqual(['idempotency_conflict', 'idempotency_conflict']);
  expect(dlq.map((d) => JSON.parse(d.value ?? '{}').requestHash)).toEqual([s1Reuse.requestHash, s2Reuse.requestHash]);
  for (const d of dlq) expect(d.headers[DLQ_HEADERS.reason]).toStartWith('IDEMPOTENCY_CONFLICT: event ');
  const end = await t.admin.fetchTopicOffsets(t.dlqTopic);
  expect(end.reduce((n, p) => n + Number(p.high), 0)).toBe(2);
  expect(await registry.metrics()).toContain('consumer_idempotency_conflicts_total{consumer="postgres"} 2');

  const list = await runDlqCli(['list'], { KAFKA_TOPIC: t.topic, KAFKA_DLQ_TOPIC: t.dlqTopic });
  expect(list.code).toBe(0);
  expect(list.stdout).toContain('(idempotency_conflict 2)');
  expect(list.stdout).toContain('[idempotency_conflict] IDEMPOTENCY_CONFLICT: event ');
}, 120_000);
