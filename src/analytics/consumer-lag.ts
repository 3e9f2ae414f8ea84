/**
 * Consumer lag (messages not yet committed) of consumer groups on a topic, read from Kafka,
 * the only place it can be measured honestly. A port, so the routes work (and say "not
 * available") without a broker, and a kafkajs adapter the server wires with its admin client.
 */
import type { Admin } from 'kafkajs';
import { AppError } from '../kernel/errors.ts';

export interface PartitionLag {
  readonly partition: number;
  readonly committed: number | null;
  readonly high: number;
  readonly lag: number;
}

export interface GroupLag {
  readonly groupId: string;
  readonly topic: string;
  /** Sum over partitions of high watermark - committed offset (- low watermark when none). */
  readonly lag: number;
  readonly partitions: readonly PartitionLag[];
}

export type ConsumerLagProbe = () => Promise<readonly GroupLag[]>;

/** Lag per group from committed offsets vs high watermarks. `admin` must be connected. */
export function createKafkaConsumerLagProbe(
  admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>,
  topic: string,
  groupIds: readonly string[],
): ConsumerLagProbe {
  return async () => {
    try {
      const watermarks = await admin.fetchTopicOffsets(topic);
      return await Promise.all(
        groupIds.map(async (groupId): Promise<GroupLag> => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
          const partitions = watermarks
            .map((w) => {
              const high = Number(w.high);
              const c = byPartition.get(w.partition);
              const at = c === undefined || c < 0 ? null : c;
              return { partition: w.partition, committed: at, high, lag: Math.max(0, high - (at ?? Number(w.low))) };
            })
            .sort((a, b) => a.partition - b.partition);
          return { groupId, topic, lag: partitions.reduce((s, p) => s + p.lag, 0), partitions };
        }),
      );
    } catch (error) {
      throw new AppError('BROKER_UNAVAILABLE', 'Could not read consumer offsets from Kafka.', { cause: error });
    }
  };
}
