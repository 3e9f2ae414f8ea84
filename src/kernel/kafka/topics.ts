/**
 * The service's topics, made idempotently at start-up (stack start, tests, system start): the
 * main topic and its dead-letter topic. Existing topics are kept; a main topic with fewer
 * partitions than configured is grown (Kafka cannot shrink one, so more than configured is only
 * reported). Retention is set when a topic is created.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { createKafka } from './client.ts';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly dlqTopic: string;
  /** The dead-letter topic is read by people, not by scaled-out consumers: 1 partition by default. */
  readonly dlqPartitions?: number;
  /** retention.ms of both topics at creation; -1 keeps messages forever. */
  readonly retentionMs: number;
}

export interface EnsureTopicsResult {
  readonly created: readonly string[];
  /** Main topic grown from `from` to `to` partitions. */
  readonly grown?: { readonly topic: string; readonly from: number; readonly to: number };
  /** Set when the topic has more partitions than configured (Kafka cannot shrink a topic). */
  readonly morePartitionsThanConfigured?: { readonly topic: string; readonly actual: number; readonly configured: number };
}

export const topicSpecFromConfig = (
  config: Pick<Config, 'KAFKA_TOPIC' | 'KAFKA_TOPIC_PARTITIONS' | 'KAFKA_DLQ_TOPIC' | 'KAFKA_TOPIC_RETENTION_MS'>,
): TopicSpec => ({
  topic: config.KAFKA_TOPIC,
  partitions: config.KAFKA_TOPIC_PARTITIONS,
  dlqTopic: config.KAFKA_DLQ_TOPIC,
  retentionMs: config.KAFKA_TOPIC_RETENTION_MS,
});

/** The settings every topic of the service is created with: the one place they are written. */
const topicConfigEntries = (retentionMs: number) => [
  { name: 'retention.ms', value: String(retentionMs) },
  { name: 'cleanup.policy', value: 'delete' },
];

/** kafkajs errors that only say the broker's metadata has not caught up with a new topic yet. */
const isStaleMetadata = (error: unknown): boolean =>
  ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_FOR_PARTITION'].includes(
    (error as { type?: string }).type ?? '',
  );

export interface TopicToCreate {
  readonly topic: string;
  readonly numPartitions: number;
  /** -1 (the default): the brokers' default.replication.factor. */
  readonly replicationFactor?: number;
  readonly configEntries?: ITopicConfig['configEntries'];
}

/**
 * Creates the topics (an existing one is kept; returns whether this call created them) and
 * returns only once each has its partitions, each with a leader that serves it: the metadata
 * names a leader for every partition and ListOffsets answers for every partition.
 *
 * Why more than `createTopics({ waitForLeaders: true })`: kafkajs's wait retries only on
 * LEADER_NOT_AVAILABLE. A freshly started KRaft broker can answer the metadata request with
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after the controller created the topic (its metadata
 * cache, and then its replica manager, apply the new records a little later): kafkajs then gives
 * up and throws, or the producer or consumer that asks next is told the partition is not hosted.
 * CI failed that way (test/int/events/subscriber.int.test.ts, 2026-12); `npm start` on a fresh
 * machine makes its topics on a broker that started seconds before.
 */
export async function createTopicsAndWait(admin: Admin, topics: readonly TopicToCreate[], timeoutMs = 30_000): Promise<boolean> {
  let created = false;
  try {
    created = await admin.createTopics({
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor ?? -1,
        ...(t.configEntries ? { configEntries: [...t.configEntries] } : {}),
      })),
      waitForLeaders: true,
      timeout: timeoutMs,
    });
  } catch (error) {
    if (!isStaleMetadata(error)) throw error; // the topics were made; the check below waits for them
    created = true;
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const serving = await (async () => {
      const { topics: described } = await admin.fetchTopicMetadata({ topics: names });
      for (const t of topics) {
        const partitions = described.find((d) => d.name === t.topic)?.partitions ?? [];
        // An existing topic may have more partitions than asked (ensureTopics reports that).
        if (partitions.length < t.numPartitions) return false;
        if (!partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0)) return false;
        if ((await admin.fetchTopicOffsets(t.topic)).length !== partitions.length) return false;
      }
      return true;
    })().catch((error: unknown) => {
      if (isStaleMetadata(error)) return false;
      throw error;
    });
    if (serving) return created;
    if (Date.now() > deadline) throw new Error(`topic(s) ${names.join(', ')}: no serving leader for every partition within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Creates the dead-letter topic alone when missing (a consumer must be able to dead-letter even
 * when nobody ran the full topic set-up), with the same settings as ensureTopics. Returns true
 * when this process created it.
 *
 * It asks whether the topic exists first: every consumer start used to send CreateTopics, which
 * the broker answers TOPIC_ALREADY_EXISTS and kafkajs logs at ERROR ("Topic creation errors"),
 * one false alarm per instance start (seen in every drill's consumer logs).
 */
export async function ensureDeadLetterTopic(
  admin: Admin,
  spec: Pick<TopicSpec, 'dlqTopic' | 'dlqPartitions' | 'retentionMs'>,
): Promise<boolean> {
  if ((await admin.listTopics()).includes(spec.dlqTopic)) return false;
  return createTopicsAndWait(admin, [
    { topic: spec.dlqTopic, numPartitions: spec.dlqPartitions ?? 1, configEntries: topicConfigEntries(spec.retentionMs) },
  ]);
}

/** Creates the main and dead-letter topics when missing; grows the main topic when asked to. */
export async function ensureTopics(admin: Admin, spec: TopicSpec): Promise<EnsureTopicsResult> {
  const existing = new Set(await admin.listTopics());
  const configEntries = topicConfigEntries(spec.retentionMs);
  const wanted = [
    { topic: spec.topic, numPartitions: spec.partitions },
    { topic: spec.dlqTopic, numPartitions: spec.dlqPartitions ?? 1 },
  ];
  const missing = wanted.filter((t) => !existing.has(t.topic));
  const created: string[] = [];
  if (missing.length > 0) {
    // Returns false (no error) when another process created them first: still idempotent, and
    // then this process did not create them.
    const madeHere = await createTopicsAndWait(admin, missing.map((t) => ({ ...t, configEntries })));
    if (madeHere) created.push(...missing.map((t) => t.topic));
  }
  if (created.includes(spec.topic)) return { created };

  const metadata = await admin.fetchTopicMetadata({ topics: [spec.topic] });
  const actual = metadata.topics[0]?.partitions.length ?? 0;
  if (actual < spec.partitions) {
    await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }], validateOnly: false });
    return { created, grown: { topic: spec.topic, from: actual, to: spec.partitions } };
  }
  if (actual > spec.partitions) {
    return { created, morePartitionsThanConfigured: { topic: spec.topic, actual, configured: spec.partitions } };
  }
  return { created };
}

/** ensureTopics for the configured topics, with its own short-lived admin client. */
export async function ensureConfiguredTopics(config: Config, logger: Logger): Promise<EnsureTopicsResult> {
  const admin = createKafka(config, logger, '-topics').admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, topicSpecFromConfig(config));
  } finally {
    await admin.disconnect();
  }
}
