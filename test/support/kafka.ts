/**
 * Test helpers for the real broker: a fresh topic per test (deleted by the cleanup registered
 * where it is made) and a reader that collects what is on a topic, polling with a deadline.
 */
import { afterAll } from 'bun:test';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { loadConfig } from '../../src/kernel/config.ts';
import { createKafka } from '../../src/kernel/kafka/client.ts';
import { silentLogger } from '../../src/kernel/observability/logger.ts';

export const testConfig = loadConfig(process.env);
export const testKafka: Kafka = createKafka(testConfig, silentLogger(), '-test');

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
    const topic = `test.${prefix}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
    const admin = testKafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    made.push(topic);
    return topic;
  };
}

export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

const toRead = (partition: number, m: KafkaMessage): ReadMessage => ({
  partition,
  offset: m.offset,
  key: m.key?.toString() ?? null,
  value: m.value?.toString() ?? null,
  headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
});

/**
 * Reads the topic from the beginning until `done(messages)` holds or the deadline passes
 * (then it returns what it has; callers assert on it).
 */
export async function readTopic(
  topic: string,
  done: (messages: readonly ReadMessage[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReadMessage[]> {
  const consumer = testKafka.consumer({ groupId: `test-reader-${Math.random().toString(36).slice(2)}` });
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
  return messages;
}
