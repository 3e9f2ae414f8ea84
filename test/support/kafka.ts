/**
 * Test helpers for the real broker. Every topic a test makes goes through `makeTopics`, which
 * returns only once the broker serves every partition; `topicFactory` (uniquely named topics,
 * deleted after the file) and `createTestTopic` (a topic, its DLQ, a group and a producer, for
 * one test) are built on it. `readTopic` collects what is on a topic, polling with a deadline.
 */
import { afterAll } from 'bun:test';
import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, ITopicConfig, Kafka, KafkaMessage, Message } from 'kafkajs';
import { loadConfig } from '../../src/kernel/config.ts';
import { encodeSessionCompleted, type SessionCompleted } from '../../src/kernel/events/session-completed.ts';
import { createKafka } from '../../src/kernel/kafka/client.ts';
import { createTopicsAndWait } from '../../src/kernel/kafka/topics.ts';
import { silentLogger } from '../../src/kernel/observability/logger.ts';
import { waitFor } from './process.ts';

export const testConfig = loadConfig(process.env);
export const testKafka: Kafka = createKafka(testConfig, silentLogger(), '-test');

export interface TopicToMake {
  readonly topic: string;
  readonly partitions: number;
  readonly configEntries?: ITopicConfig['configEntries'];
}

/**
 * Creates the topics (an existing one is kept) and returns only once the broker serves every
 * partition: the kernel's createTopicsAndWait (src/kernel/kafka/topics.ts says why kafkajs's own
 * wait is not enough), with replication factor 1 as the test broker has one node.
 */
export async function makeTopics(admin: Admin, topics: readonly TopicToMake[], timeoutMs = 30_000): Promise<void> {
  await createTopicsAndWait(
    admin,
    topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1, ...(t.configEntries ? { configEntries: t.configEntries } : {}) })),
    timeoutMs,
  );
}

/** A topic name no other test or run uses. */
export const uniqueTopicName = (prefix: string) => `test.${prefix}.${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;

/**
 * Call at the top level of a test file: returns a function that creates uniquely named topics,
 * all deleted after that file's tests (the cleanup is registered where the factory is made).
 */
export function topicFactory(): (prefix: string, partitions?: number) => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    if (made.length === 0) return;
    const admin = testKafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: made.splice(0) }).catch(() => undefined);
    await admin.disconnect();
  });
  return async (prefix, partitions = 3) => {
    const topic = uniqueTopicName(prefix);
    const admin = testKafka.admin();
    await admin.connect();
    try {
      made.push(topic);
      await makeTopics(admin, [{ topic, partitions }]);
    } finally {
      await admin.disconnect();
    }
    return topic;
  };
}

/** A topic with its dead-letter topic, consumer group and producer, for one test. */
export interface TestTopic {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  readonly admin: Admin;
  /** Sends messages (events are encoded as the API does) and waits for acks=all. */
  send(messages: ReadonlyArray<SessionCompleted | Message>): Promise<void>;
  /** Reads the DLQ from the beginning until `count` messages arrived (deadline `timeoutMs`). */
  readDlq(count: number, timeoutMs?: number): Promise<ReadMessage[]>;
  /** Disconnects the producer, deletes the group and both topics. The caller registers it. */
  cleanup(): Promise<void>;
}

const isEvent = (m: SessionCompleted | Message): m is SessionCompleted => 'type' in m && 'data' in m;

export async function createTestTopic(prefix: string, partitions = 3): Promise<TestTopic> {
  const topic = uniqueTopicName(prefix);
  const dlqTopic = `${topic}.dlq`;
  const groupId = `${topic}.group`;
  const admin = testKafka.admin();
  await admin.connect();
  await makeTopics(admin, [
    { topic, partitions },
    { topic: dlqTopic, partitions: 1 },
  ]);
  const producer = testKafka.producer();
  await producer.connect();

  return {
    topic,
    dlqTopic,
    groupId,
    admin,
    async send(messages) {
      const encoded: Message[] = messages.map((m) => {
        if (!isEvent(m)) return m;
        const e = encodeSessionCompleted(m);
        return { key: e.key, value: e.value, headers: { ...e.headers } };
      });
      for (let i = 0; i < encoded.length; i += 5_000) {
        await producer.send({ topic, acks: -1, messages: encoded.slice(i, i + 5_000) });
      }
    },
    readDlq: (count, timeoutMs = 20_000) => readTopic(dlqTopic, (got) => got.length >= count, timeoutMs),
    async cleanup() {
      await producer.disconnect();
      try {
        await admin.deleteGroups([groupId]).catch(() => undefined);
        await admin.deleteTopics({ topics: [topic, dlqTopic] });
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** Waits until the group's commits reach the topic's current high watermarks (from outside the consumer). */
export async function waitGroupCaughtUp(t: Pick<TestTopic, 'admin' | 'topic' | 'groupId'>, timeoutMs = 60_000): Promise<void> {
  const targets = (await t.admin.fetchTopicOffsets(t.topic)).filter((o) => o.high !== o.low);
  await waitFor(
    `group ${t.groupId} to commit up to the high watermarks of ${t.topic}`,
    async () => {
      const [entry] = await t.admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] });
      const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      return targets.every((o) => (committed.get(o.partition) ?? -1n) >= BigInt(o.high));
    },
    timeoutMs,
    100,
  );
}

export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/** Header values as strings (a repeated header's values joined by commas). */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}

const toRead = (partition: number, m: KafkaMessage): ReadMessage => ({
  partition,
  offset: m.offset,
  key: m.key?.toString() ?? null,
  value: m.value?.toString() ?? null,
  headers: headersToStrings(m.headers),
});

/**
 * Reads the topic from the beginning until `done(messages)` holds or the deadline passes
 * (then it returns what it has; callers assert on it). Its consumer group is deleted after.
 */
export async function readTopic(
  topic: string,
  done: (messages: readonly ReadMessage[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReadMessage[]> {
  const groupId = `test-reader-${randomUUID()}`;
  const consumer = testKafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push(toRead(partition, message));
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!done(messages) && Date.now() < deadline) await Bun.sleep(50);
  } finally {
    await consumer.disconnect();
  }
  const admin = testKafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  return messages;
}
