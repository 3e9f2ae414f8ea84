/**
 * The service's topics, made idempotently at start-up (stack start, tests, system start): the
 * main topic and its dead-letter topic. Existing topics are kept; a main topic with fewer
 * partitions than configured is grown (Kafka cannot shrink one, so more than configured is only
 * reported). Retention is set when a topic is created.
 */
import type { Admin } from 'kafkajs';
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

/**
 * Creates the dead-letter topic alone when missing (a consumer must be able to dead-letter even
 * when nobody ran the full topic set-up), with the same settings as ensureTopics. Returns true
 * when this process created it.
 */
export function ensureDeadLetterTopic(
  admin: Admin,
  spec: Pick<TopicSpec, 'dlqTopic' | 'dlqPartitions' | 'retentionMs'>,
): Promise<boolean> {
  return admin.createTopics({
    topics: [
      { topic: spec.dlqTopic, numPartitions: spec.dlqPartitions ?? 1, replicationFactor: -1, configEntries: topicConfigEntries(spec.retentionMs) },
    ],
    waitForLeaders: true,
  });
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
    const madeHere = await admin.createTopics({
      topics: missing.map((t) => ({ ...t, replicationFactor: -1, configEntries })),
      waitForLeaders: true,
    });
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
