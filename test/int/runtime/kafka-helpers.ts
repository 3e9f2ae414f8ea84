/**
 * Kafka helpers of the runtime and Postgres integration tests: a fresh topic (and its DLQ) per
 * test with the cleanup returned to the caller, a producer, and a reader for the DLQ.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, IHeaders, Kafka, Message } from 'kafkajs';
import { loadConfig } from '../../../src/kernel/config.ts';
import { encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { createKafka } from '../../../src/kernel/kafka/client.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';

export const config = loadConfig(process.env);
export const kafka: Kafka = createKafka(config, silentLogger(), '-test');

export interface TestTopic {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  readonly admin: Admin;
  /** Sends messages (events are encoded as the API does) and waits for acks=all. */
  send(messages: ReadonlyArray<SessionCompleted | Message>): Promise<void>;
  /** Reads the DLQ from the beginning until `count` messages arrived (deadline `timeoutMs`). */
  readDlq(count: number, timeoutMs?: number): Promise<Array<{ key: string | null; value: string | null; headers: Record<string, string> }>>;
  cleanup(): Promise<void>;
}

const isEvent = (m: SessionCompleted | Message): m is SessionCompleted => 'type' in m && 'data' in m;

export async function createTestTopic(prefix: string, partitions = 3): Promise<TestTopic> {
  const suffix = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const topic = `test.${prefix}.${suffix}`;
  const dlqTopic = `${topic}.dlq`;
  const groupId = `test.${prefix}.${suffix}.group`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: partitions, replicationFactor: 1 },
      { topic: dlqTopic, numPartitions: 1, replicationFactor: 1 },
    ],
  });
  const producer = kafka.producer();
  await producer.connect();
  const extraGroups: string[] = [];

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
    async readDlq(count, timeoutMs = 20_000) {
      const group = `${groupId}.dlq-reader.${extraGroups.length}`;
      extraGroups.push(group);
      const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
      const got: Array<{ key: string | null; value: string | null; headers: Record<string, string> }> = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
        let done: () => void = () => {};
        const enough = new Promise<void>((resolve) => (done = resolve));
        await consumer.run({
          eachMessage: async ({ message }) => {
            got.push({
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              headers: headersToStrings(message.headers),
            });
            if (got.length >= count) done();
          },
        });
        const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs));
        await Promise.race([enough, timer]);
      } finally {
        await consumer.disconnect();
      }
      return got;
    },
    async cleanup() {
      await producer.disconnect();
      try {
        await admin.deleteGroups([groupId, ...extraGroups]).catch(() => undefined);
        await admin.deleteTopics({ topics: [topic, dlqTopic] });
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** Waits until the group's commits reach the topic's current high watermarks (from outside the consumer). */
export async function waitGroupCaughtUp(t: TestTopic, timeoutMs = 60_000): Promise<void> {
  const targets = (await t.admin.fetchTopicOffsets(t.topic)).filter((o) => o.high !== o.low);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [entry] = await t.admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] });
    const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    if (targets.every((o) => (committed.get(o.partition) ?? -1n) >= BigInt(o.high))) return;
    if (performance.now() > deadline) throw new Error(`group ${t.groupId} did not catch up within ${timeoutMs} ms`);
    await Bun.sleep(100);
  }
}

export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}
