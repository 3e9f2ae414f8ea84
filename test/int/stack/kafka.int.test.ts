/**
 * The native stack's Kafka is real, from Bun: a round trip with real values, and the service's
 * topic set-up (ensureTopics). Every topic and group is unique to this run and deleted after it.
 */
import { expect, test } from 'bun:test';
import { Partitioners } from 'kafkajs';
import { ensureDeadLetterTopic, ensureTopics } from '../../../src/kernel/kafka/topics.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { makeTopics, testKafka, uniqueTopicName } from '../../support/kafka.ts';
import { waitFor } from '../../support/process.ts';

const cleanups = registerCleanups('file');

test('a message produced with acks=all is consumed back, with its key, value and header', async () => {
  const topic = uniqueTopicName('stack');
  const run = topic.slice(-8);
  const admin = testKafka.admin();
  await admin.connect();
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.deleteGroups([`${topic}.group`]).catch(() => undefined);
    await admin.disconnect();
  });
  await makeTopics(admin, [{ topic, partitions: 2 }]);

  const producer = testKafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: JSON.stringify({ n: i }), headers: { run } }));
  await producer.send({ topic, acks: -1, messages: sent });

  const received: Array<{ key: string; n: number; run: string; partition: number }> = [];
  const consumer = testKafka.consumer({ groupId: `${topic}.group` });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({
        key: message.key?.toString() ?? '',
        n: (JSON.parse(message.value?.toString() ?? '{}') as { n: number }).n,
        run: message.headers?.run?.toString() ?? '',
        partition,
      });
    },
  });
  await waitFor('every message to be consumed back', () => received.length >= sent.length);

  expect(received.map((m) => m.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(new Set(received.map((m) => m.run))).toEqual(new Set([run]));
  // Same key, same partition; and both partitions are used by five keys.
  for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) {
    expect(new Set(received.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
  }
  expect(received.find((m) => m.n === 7)?.key).toBe('k2');
}, 30_000);

test('ensureTopics creates the topic and its dead-letter topic once, and grows partitions on request', async () => {
  const topic = uniqueTopicName('stack-topics');
  const spec = { topic, partitions: 2, dlqTopic: `${topic}.dlq`, retentionMs: 3_600_000 };
  const admin = testKafka.admin();
  await admin.connect();
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [topic, spec.dlqTopic] });
    await admin.disconnect();
  });
  expect((await ensureTopics(admin, spec)).created).toEqual([topic, spec.dlqTopic]);
  expect(await ensureTopics(admin, spec)).toEqual({ created: [] });
  expect(await ensureTopics(admin, { ...spec, partitions: 3 })).toEqual({ created: [], grown: { topic, from: 2, to: 3 } });
  // CreatePartitions returns before the broker's metadata shows the new partition.
  const partitions = await waitFor(
    'the grown topic to show its new partition',
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic, spec.dlqTopic] });
      return Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
    },
    (p) => p[topic] === 3,
  );
  expect(partitions).toEqual({ [topic]: 3, [spec.dlqTopic]: 1 });
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false });
  expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('3600000');
}, 30_000);

test('ensureDeadLetterTopic creates a missing dead-letter topic, and leaves an existing one without asking the broker to create it', async () => {
  const dlqTopic = `${uniqueTopicName('stack-dlq')}.dlq`;
  const admin = testKafka.admin();
  const requests: string[] = [];
  admin.on(admin.events.REQUEST, (e) => requests.push(e.payload.apiName));
  await admin.connect();
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [dlqTopic] });
    await admin.disconnect();
  });
  expect(await ensureDeadLetterTopic(admin, { dlqTopic, retentionMs: 3_600_000 })).toBe(true);
  expect(requests).toContain('CreateTopics');
  requests.length = 0;
  // A consumer's every start: the topic is there, so no CreateTopics (which the broker refuses
  // with TOPIC_ALREADY_EXISTS and kafkajs logs at ERROR).
  expect(await ensureDeadLetterTopic(admin, { dlqTopic, retentionMs: 3_600_000 })).toBe(false);
  expect(requests).not.toContain('CreateTopics');
  expect(requests).toContain('Metadata');
}, 30_000);
