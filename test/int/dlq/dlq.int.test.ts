/**
 * scripts/dlq.ts against the real broker and a real Postgres consumer (its own topic, DLQ topic,
 * group and scratch schema): poison messages are dead-lettered with their reasons; `list` shows
 * them; a message fixed since is redriven (original key, value and headers) and projects; redrive
 * never re-publishes what it already redrove, nor the same failure dead-lettered by two groups.
 */
import { beforeAll, expect, test } from 'bun:test';
import { registerCleanups } from '../../support/cleanups.ts';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import { createPostgresSink } from '../../../consumers/postgres/sink.ts';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { DLQ_HEADERS, toDeadLetter } from '../../../consumers/runtime/dead-letter.ts';
import { createConsumer } from '../../../consumers/runtime/index.ts';
import { encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { REDRIVE_SOURCE_HEADER, ledgerTopicOf, listDeadLetters, redrive } from '../../../scripts/dlq.ts';
import { makeEvent } from '../../support/events.ts';
import { makeTopics, readTopic, testKafka } from '../../support/kafka.ts';
import { repoRoot, waitFor } from '../../support/process.ts';
import { createScratchDb, type ScratchDb } from '../postgres/pg-helpers.ts';

const suffix = `${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
const topic = `test.dlq.${suffix}`;
const dlqTopic = `${topic}.dlq`;
const groupId = `test.dlq.${suffix}.postgres`;
const cleanups = registerCleanups('file');

let db: ScratchDb;
const producer = testKafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

beforeAll(async () => {
  const admin = testKafka.admin();
  await admin.connect();
  await makeTopics(admin, [
    { topic, partitions: 3 },
    { topic: dlqTopic, partitions: 1 },
  ]);
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [topic, dlqTopic, ledgerTopicOf(dlqTopic)] }).catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  });
  db = await createScratchDb('dlq');
  cleanups.push(() => db.cleanup());
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const consumer = createConsumer({
    kafka: testKafka,
    topic,
    dlqTopic,
    groupId,
    sink: createPostgresSink(createPgSessionStore(db.pool), silentLogger()),
    batchMaxEvents: 100,
    batchMaxWaitMs: 50,
    retryMaxBackoffMs: 500,
    retryBaseBackoffMs: 50,
    logger: silentLogger(),
    registry: new Registry(),
    fromBeginning: true,
  });
  await consumer.start();
  cleanups.push(() => consumer.stop());
}, 60_000);

const event = (sessionId: string, userId: string): SessionCompleted =>
  makeEvent({ sessionId, userId, completedAt: Date.now() - 60_000, durationMs: 30_000, clientLagMs: 10, score: 7 });

const sessionEventId = async (sessionId: string): Promise<string | undefined> =>
  (await db.pool.query<{ event_id: string }>('SELECT event_id::text AS event_id FROM sessions WHERE session_id = $1', [sessionId])).rows[0]?.event_id;

const deadLettersUntil = (count: number) =>
  waitFor(`${count} dead letters listed`, () => listDeadLetters(testKafka, dlqTopic), (list) => list.deadLetters.length >= count, 30_000, 250);

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, join(repoRoot, 'scripts/dlq.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, KAFKA_TOPIC: topic, KAFKA_DLQ_TOPIC: dlqTopic },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const good = event('dlq-good-1', 'dlq-user');
let poisonOffsets: { notJson: { partition: number; offset: string }; future: { partition: number; offset: string } };

test('poison messages go to the DLQ with their reason, source and key; the good one projects; list shows them', async () => {
  const e = encodeSessionCompleted(good);
  await producer.send({ topic, acks: -1, messages: [{ key: e.key, value: e.value, headers: { ...e.headers } }] });
  const [notJson] = await producer.send({ topic, acks: -1, messages: [{ key: 'poison-user', value: '{"type":"SessionCompleted", not json' }] });
  const future = { ...JSON.parse(encodeSessionCompleted(event('dlq-future', 'future-user')).value), version: 99 };
  const [second] = await producer.send({ topic, acks: -1, messages: [{ key: 'future-user', value: JSON.stringify(future), headers: { 'event-version': '99' } }] });
  poisonOffsets = {
    notJson: { partition: notJson!.partition, offset: notJson!.baseOffset! },
    future: { partition: second!.partition, offset: second!.baseOffset! },
  };

  await waitFor('the good event in sessions', async () => (await sessionEventId('dlq-good-1')) === good.id);
  const { deadLetters } = await deadLettersUntil(2);
  expect(deadLetters.length).toBe(2);
  const byKey = new Map(deadLetters.map((d) => [d.key, d]));
  const nj = byKey.get('poison-user');
  const vv = byKey.get('future-user');
  expect(nj?.reason).toStartWith('value is not JSON');
  expect(nj?.reasonKind).toBe('not_json');
  expect(nj?.source).toBe(`${topic}/${poisonOffsets.notJson.partition}/${poisonOffsets.notJson.offset}`);
  expect(nj?.consumerGroup).toBe(groupId);
  expect(nj?.value?.toString()).toBe('{"type":"SessionCompleted", not json');
  expect(vv?.reason).toBe('unsupported SessionCompleted version 99');
  expect(vv?.source).toBe(`${topic}/${poisonOffsets.future.partition}/${poisonOffsets.future.offset}`);
  expect(vv?.eventId).toBe(future.id);
  expect(vv?.headers['event-version']).toBe('99'); // original headers kept

  const cli = await runCli(['list']);
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain(`${dlqTopic}: 2 dead letters`);
  expect(cli.stdout).toContain('[not_json] value is not JSON');
  expect(cli.stdout).toContain('[unsupported_version] unsupported SessionCompleted version 99');
  expect(cli.stdout).toContain(`source ${topic}/${poisonOffsets.future.partition}/${poisonOffsets.future.offset}`);
  expect(cli.stdout).toContain('key      "poison-user"');
  const limited = await runCli(['list', '--limit', '1', '--json']);
  expect((JSON.parse(limited.stdout) as unknown[]).length).toBe(1);
}, 90_000);

test('after a fix, redrive re-publishes the message (key, value, headers kept) once; it projects; a second redrive does nothing', async () => {
  // A dead letter an earlier consumer version wrote (its schema refused outcome "abandoned"; the
  // fix is deployed): both consumer groups dead-lettered the same source message.
  const fixed = event('dlq-fixed-1', 'fixed-user');
  const encoded = encodeSessionCompleted({ ...fixed, data: { ...fixed.data, outcome: 'abandoned' } });
  const source = { key: Buffer.from(encoded.key), value: Buffer.from(encoded.value), headers: { ...encoded.headers }, offset: '4242', timestamp: String(Date.now()) };
  const failure = { reason: 'invalid SessionCompleted v1: data.outcome: Invalid option (before the fix)', reasonKind: 'invalid' as const };
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: [
      toDeadLetter(source, { topic, partition: 1, groupId: 'session-completed.postgres-old' }, failure, new Date()),
      toDeadLetter(source, { topic, partition: 1, groupId: 'session-completed.clickhouse-old' }, failure, new Date()),
    ],
  });
  await deadLettersUntil(4);
  const admin = testKafka.admin();
  await admin.connect();
  const highs = async () => (await admin.fetchTopicOffsets(topic)).map((o) => o.high).join(',');
  try {
    const before = await highs();
    const dry = await redrive(testKafka, { topic, dlqTopic, match: 'before the fix', dryRun: true });
    expect({ matched: dry.matched, distinct: dry.distinct, deadLetters: dry.deadLetters, redriven: dry.redriven.length }).toEqual({ matched: 1, distinct: 3, deadLetters: 4, redriven: 1 });
    expect(await highs()).toBe(before); // nothing published
    const cliDry = await runCli(['redrive', '--match', 'BEFORE THE FIX', '--dry-run']);
    expect(cliDry.stdout).toContain('would redrive 1');

    const done = await redrive(testKafka, { topic, dlqTopic, match: 'before the fix' });
    expect(done.redriven.length).toBe(1);
    await waitFor('the redriven event in sessions', async () => (await sessionEventId('dlq-fixed-1')) === fixed.id);
    const onTopic = await readTopic(topic, (ms) => ms.some((m) => m.headers[REDRIVE_SOURCE_HEADER] !== undefined));
    const redriven = onTopic.find((m) => m.headers[REDRIVE_SOURCE_HEADER] !== undefined);
    expect(redriven?.key).toBe(encoded.key);
    expect(redriven?.value).toBe(encoded.value);
    expect(redriven?.headers['event-id']).toBe(fixed.id);
    expect(redriven?.headers[REDRIVE_SOURCE_HEADER]).toBe(`${topic}/1/4242`);
    expect(Object.keys(redriven?.headers ?? {}).filter((k) => Object.values(DLQ_HEADERS).includes(k as never))).toEqual([]);

    const again = await redrive(testKafka, { topic, dlqTopic, match: 'before the fix' });
    expect({ redriven: again.redriven.length, alreadyRedriven: again.alreadyRedriven }).toEqual({ redriven: 0, alreadyRedriven: 1 });
    const cliList = await runCli(['list']);
    expect(cliList.stdout).toContain(`redriven `);
  } finally {
    await admin.disconnect();
  }
}, 90_000);

test('redriving a message that is still broken dead-letters it again, and a later redrive leaves it alone', async () => {
  const first = await redrive(testKafka, { topic, dlqTopic }); // the two real poisons, not fixed
  expect(first.redriven.map((r) => r.deadLetter.key).sort()).toEqual(['future-user', 'poison-user']);
  const { deadLetters } = await deadLettersUntil(6);
  const again = deadLetters.filter((d) => d.origin !== d.source);
  expect(again.map((d) => d.origin).sort()).toEqual(
    [`${topic}/${poisonOffsets.notJson.partition}/${poisonOffsets.notJson.offset}`, `${topic}/${poisonOffsets.future.partition}/${poisonOffsets.future.offset}`].sort(),
  );
  const second = await redrive(testKafka, { topic, dlqTopic });
  expect(second.redriven.length).toBe(0);
  expect(second.alreadyRedriven).toBe(3);
}, 90_000);
