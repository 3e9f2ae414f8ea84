/**
 * The kafkajs adapter behind the BatchTransport port: an idempotent producer (acks=all) that
 * writes a whole group-commit batch with one sendBatch.
 */
import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { AppError } from '../kernel/errors.ts';
import type { EventMessage } from '../kernel/events/session-completed.ts';
import type { Logger } from '../kernel/observability/logger.ts';
import type { BatchTransport } from './group-commit.ts';
import { partitionForKey } from './partition.ts';

/** How often the topic's partition count is re-read (Kafka's own clients default to 5 min). */
const PARTITION_REFRESH_MS = 30_000;

export interface KafkaTransport extends BatchTransport {
  readonly connected: () => boolean;
  /** Connects, retrying in the background until it works or `disconnect` is called. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

export function createKafkaTransport(kafka: Kafka, topic: string, logger: Logger): KafkaTransport {
  const producer: Producer = kafka.producer({
    idempotent: true, // requires acks=-1; kafkajs then retries without limit
    allowAutoTopicCreation: false,
    // Java-compatible murmur2 partitioning, so other clients agree on key -> partition.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  let isConnected = false;
  let stopping = false;
  // Partitions are chosen here (same murmur2 as kafkajs/Java, see ./partition.ts) because it is
  // cheaper; the count is read from the topic's metadata and refreshed like a client's would be.
  const admin = kafka.admin();
  let partitions = 0;
  let refresher: ReturnType<typeof setInterval> | undefined;
  const refreshPartitions = async () => {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      partitions = metadata.topics[0]?.partitions.length ?? 0;
    } catch (error) {
      // Keep the last count; 0 lets kafkajs partition by itself.
      logger.warn({ err: (error as Error).message }, 'could not refresh the topic partition count');
    }
  };
  producer.on(producer.events.CONNECT, () => {
    isConnected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    isConnected = false;
  });

  return {
    connected: () => isConnected,
    async connect() {
      for (let attempt = 1; !stopping; attempt++) {
        try {
          await producer.connect();
          await admin.connect();
          await refreshPartitions();
          refresher ??= setInterval(() => void refreshPartitions(), PARTITION_REFRESH_MS);
          refresher.unref?.();
          return;
        } catch (error) {
          logger.warn({ attempt, err: (error as Error).message }, 'producer connect failed; retrying');
          await Bun.sleep(Math.min(5_000, 200 * attempt));
        }
      }
    },
    async disconnect() {
      stopping = true;
      if (refresher) clearInterval(refresher);
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
    async sendBatch(messages: readonly EventMessage[]) {
      if (!isConnected) throw new AppError('BROKER_UNAVAILABLE', 'Not connected to the event broker. Retry later.');
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [
          {
            topic,
            messages: messages.map((m) => ({
              key: m.key,
              value: m.value,
              headers: m.headers as Record<string, string>,
              ...(partitions > 0 ? { partition: partitionForKey(m.key, partitions) } : {}),
            })),
          },
        ],
      });
    },
  };
}
