/**
 * The Postgres consumer end to end, against real Kafka and Postgres: exact rows and stats after
 * new events, duplicates and re-completions; a sink that fails after writing (a crash between
 * the write and the commit); a database error retried until it clears; a poison message on the
 * DLQ while the rest proceed. Each test has its own topic, group and schema.
 */
import { describe, expect, test } from 'bun:test';
import { registerCleanups } from '../../support/cleanups.ts';
import { Registry } from 'prom-client';
import { createPostgresSink } from '../../../consumers/postgres/sink.ts';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { createConsumer, type BatchSink, type SessionCompleted } from '../../../consumers/runtime/index.ts';
import { DLQ_HEADERS } from '../../../consumers/runtime/dead-letter.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { createTestTopic, testKafka as kafka, type TestTopic } from '../../support/kafka.ts';
import { makeEvent } from '../../support/events.ts';
import { waitFor } from '../../support/process.ts';
import {
  aggregateFromSessions,
  createScratchDb,
  readSnapshot,
  referenceModel,
  roundStats,
  type ScratchDb,
} from './pg-helpers.ts';

const cleanups = registerCleanups();

async function setup(name: string, partitions = 3): Promise<{ t: TestTopic; db: ScratchDb }> {
  const t = await createTestTopic(name, partitions);
  cleanups.push(() => t.cleanup());
  const db = await createScratchDb(`t_${name.replaceAll('-', '_')}`);
  cleanups.push(() => db.cleanup());
  return { t, db };
}

function startConsumer(t: TestTopic, sink: BatchSink, over: { batchMaxEvents?: number; retryMaxBackoffMs?: number } = {}) {
  const registry = new Registry();
  const consumer = createConsumer({
    kafka,
    topic: t.topic,
    dlqTopic: t.dlqTopic,
    groupId: t.groupId,
    sink,
    batchMaxEvents: over.batchMaxEvents ?? 200,
    batchMaxWaitMs: 50,
    retryMaxBackoffMs: over.retryMaxBackoffMs ?? 200,
    retryBaseBackoffMs: 20,
    logger: silentLogger(),
    registry,
    fromBeginning: true,
  });
  cleanups.push(() => consumer.stop());
  return { consumer, registry };
}

async function expectExact(db: ScratchDb, all: readonly SessionCompleted[]) {
  // "latest (completedAt, eventId) wins" does not depend on order, so one batch is the reference
  const model = referenceModel([all]);
  const actual = await readSnapshot(db.pool);
  expect(actual.sessions.size).toBe(model.sessions.size);
  expect(Object.fromEntries(actual.sessions)).toEqual(Object.fromEntries(model.sessions));
  expect(roundStats(actual.stats)).toEqual(roundStats(model.stats));
  expect(actual.stats).toEqual(await aggregateFromSessions(db.pool));
}

/** New sessions, exact duplicates (same event id), and re-completions (newer and older). */
function mixedHistory(sessions: number, users: number, seed: number): SessionCompleted[] {
  let state = seed;
  const rnd = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const t0 = Date.parse('2026-04-01T00:00:00.000Z');
  const out: SessionCompleted[] = [];
  for (let i = 0; i < sessions; i++) {
    const base = makeEvent({
      sessionId: `s${seed}-${i}`,
      userId: `u${seed}-${i % users}`,
      completedAt: new Date(t0 + Math.floor(rnd() * 1e9)).toISOString(),
      score: rnd() < 0.2 ? null : Math.round(rnd() * 1000) / 10,
      outcome: (['completed', 'failed', 'abandoned'] as const)[Math.floor(rnd() * 3)]!,
    });
    out.push(base);
    if (rnd() < 0.2) out.push(base); // duplicate delivery
    if (rnd() < 0.2) {
      // re-completion, sometimes earlier than the first (must lose), same user (same partition)
      out.push(
        makeEvent({
          sessionId: base.data.sessionId,
          userId: base.data.userId,
          completedAt: new Date(Date.parse(base.data.completedAt) + (rnd() < 0.7 ? 1 : -1) * 60_000).toISOString(),
          score: Math.round(rnd() * 1000) / 10,
          outcome: 'completed',
        }),
      );
    }
  }
  return out;
}

describe('Postgres consumer (real Kafka + Postgres)', () => {
  test('a mix of new events, duplicates and re-completions ends exact; replaying it changes nothing', async () => {
    const { t, db } = await setup('pg-mix');
    const history = mixedHistory(3_000, 150, 7);
    await t.send(history);
    const { consumer } = startConsumer(t, createPostgresSink(createPgSessionStore(db.pool), silentLogger()));
    await consumer.start();
    await consumer.whenCaughtUp(60_000);
    await expectExact(db, history);

    const before = await db.pool.query(`SELECT count(*)::int AS n, max(projected_at) AS p FROM sessions`);
    await t.send(history); // the whole topic again (a redelivery storm)
    await consumer.whenCaughtUp(60_000);
    await expectExact(db, history);
    const after = await db.pool.query(`SELECT count(*)::int AS n, max(projected_at) AS p FROM sessions`);
    expect(after.rows).toEqual(before.rows); // nothing rewritten
  });

  test('a crash between write and commit (the sink fails once after writing) ends exact', async () => {
    const { t, db } = await setup('pg-crash');
    const history = mixedHistory(1_000, 50, 11);
    await t.send(history);
    const real = createPostgresSink(createPgSessionStore(db.pool), silentLogger());
    let crashes = 0;
    const crashingOnce: BatchSink = {
      name: 'postgres-crashing',
      async write(events) {
        await real.write(events); // committed in Postgres...
        if (crashes === 0) {
          crashes += 1;
          throw new Error('crash after the write, before the offset commit'); // ...but not in Kafka
        }
      },
    };
    const { consumer, registry } = startConsumer(t, crashingOnce);
    await consumer.start();
    await consumer.whenCaughtUp(60_000);
    expect(crashes).toBe(1);
    const retries = (await registry.getSingleMetric('consumer_retries_total')!.get()).values;
    expect(retries.reduce((s, v) => s + v.value, 0)).toBe(1);
    await expectExact(db, history);
  });

  test('a database error is retried with backoff until it clears, without loss', async () => {
    const { t, db } = await setup('pg-dberror', 1);
    const history = mixedHistory(500, 20, 13);
    // Break the write path for real: the table the upsert needs is gone (renamed).
    await db.pool.query(`ALTER TABLE sessions RENAME TO sessions_away`);
    await t.send(history);
    const { consumer, registry } = startConsumer(t, createPostgresSink(createPgSessionStore(db.pool), silentLogger()));
    await consumer.start();
    const retries = async () =>
      (await registry.getSingleMetric('consumer_retries_total')!.get()).values.reduce((s, v) => s + v.value, 0);
    await waitFor('the consumer to retry the failing write', async () => (await retries()) >= 3, 30_000, 50);
    const [entry] = await t.admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] });
    expect(entry?.partitions.map((p) => p.offset)).toEqual(['-1']); // nothing committed meanwhile
    await db.pool.query(`ALTER TABLE sessions_away RENAME TO sessions`);
    await consumer.whenCaughtUp(60_000);
    await expectExact(db, history);
  });

  test('a poison message lands in the DLQ with reason headers while the rest are projected', async () => {
    const { t, db } = await setup('pg-poison', 2);
    const good = mixedHistory(200, 10, 17);
    const poison = { key: 'u17-1', value: JSON.stringify({ ...good[0], data: { ...good[0]!.data, userId: 'bad id!' } }) };
    await t.send([...good.slice(0, 100), poison, ...good.slice(100)]);
    const { consumer } = startConsumer(t, createPostgresSink(createPgSessionStore(db.pool), silentLogger()));
    await consumer.start();
    await consumer.whenCaughtUp(60_000);
    await expectExact(db, good);
    const [dead] = await t.readDlq(1);
    expect(dead?.value).toBe(poison.value);
    expect(dead?.headers[DLQ_HEADERS.reasonKind]).toBe('invalid');
    expect(dead?.headers[DLQ_HEADERS.reason]).toContain('data.userId');
    expect(dead?.headers[DLQ_HEADERS.sourceTopic]).toBe(t.topic);
    expect(dead?.headers[DLQ_HEADERS.sourceOffset]).toMatch(/^\d+$/);
  });
});
