/**
 * The production-safety check of the topic, run by the API and the consumers at start.
 *
 * With acks=all, Kafka acknowledges an event once every in-sync replica has it; the ISR may
 * shrink to min.insync.replicas. So an acknowledged event is on at least
 * min(replication factor, min.insync.replicas) brokers. When that is 1 (the single-node stack:
 * replication 1; or replication 3 with min.insync.replicas 1), one lost disk loses acknowledged
 * events. In production (APP_ENV=production) such a topic is refused unless
 * KAFKA_ALLOW_UNREPLICATED=true says it is meant (then, and in development, a warning is logged).
 */
import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { createKafka } from './client.ts';

export interface TopicDurability {
  readonly topic: string;
  /** Smallest replica count over the topic's partitions. */
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly uncleanLeaderElection: boolean;
}

export type DurabilityVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly copies: number; readonly reasons: readonly string[] };

/** Pure: whether an acknowledged event on this topic is on at least two brokers. */
export function judgeDurability(d: TopicDurability): DurabilityVerdict {
  const reasons: string[] = [];
  if (d.replicationFactor < 2) reasons.push(`replication factor ${d.replicationFactor} (needs 2 or more; 3 recommended)`);
  if (d.minInsyncReplicas < 2) reasons.push(`min.insync.replicas=${d.minInsyncReplicas} (needs 2 or more)`);
  if (d.replicationFactor >= 2 && d.minInsyncReplicas > d.replicationFactor) {
    reasons.push(`min.insync.replicas=${d.minInsyncReplicas} exceeds the replication factor ${d.replicationFactor}: every write would fail`);
  }
  if (d.uncleanLeaderElection) reasons.push('unclean.leader.election.enable=true (an out-of-sync replica may become leader and drop acknowledged events)');
  return reasons.length === 0 ? { ok: true } : { ok: false, copies: Math.min(d.replicationFactor, d.minInsyncReplicas), reasons };
}

export function durabilityMessage(d: TopicDurability, verdict: Extract<DurabilityVerdict, { ok: false }>): string {
  return (
    `Kafka topic "${d.topic}" is not safe for production: ${verdict.reasons.join('; ')}. ` +
    `An acknowledged event could live on ${verdict.copies <= 1 ? 'a single broker' : `${verdict.copies} brokers`}. ` +
    'Create the topic with replication factor 3 and min.insync.replicas=2 (the cluster topology does: npm run up -- --cluster), ' +
    'or set KAFKA_ALLOW_UNREPLICATED=true to accept the risk (development, single-node stacks, benchmarks).'
  );
}

/** Reads the topic's replication and the effective min.insync.replicas / unclean election. */
export async function readTopicDurability(admin: Admin, topic: string): Promise<TopicDurability | undefined> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch((error: unknown) => {
    if ((error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
    throw error;
  });
  const partitions = metadata?.topics[0]?.partitions ?? [];
  if (partitions.length === 0) return undefined;
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas', 'unclean.leader.election.enable'] }],
  });
  const entries = described.resources[0]?.configEntries ?? [];
  const value = (name: string) => entries.find((e) => e.configName === name)?.configValue;
  return {
    topic,
    replicationFactor: Math.min(...partitions.map((p) => p.replicas.length)),
    minInsyncReplicas: Number(value('min.insync.replicas') ?? '1'),
    uncleanLeaderElection: value('unclean.leader.election.enable') === 'true',
  };
}

/**
 * The start-up check. Production without the override: waits for Kafka (up to `waitMs`) and
 * throws CONFIG_INVALID on an unsafe topic. Otherwise it checks in the background and only warns,
 * so a development start never waits for the broker.
 */
export async function enforceTopicDurability(
  config: Pick<Config, 'APP_ENV' | 'KAFKA_ALLOW_UNREPLICATED' | 'KAFKA_TOPIC' | 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
  logger: Logger,
  waitMs = 60_000,
): Promise<void> {
  const enforce = config.APP_ENV === 'production' && !config.KAFKA_ALLOW_UNREPLICATED;
  const check = async (): Promise<void> => {
    const admin = createKafka(config, logger, '-durability').admin();
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        try {
          await admin.connect();
          const d = await readTopicDurability(admin, config.KAFKA_TOPIC);
          if (d === undefined) {
            logger.warn({ topic: config.KAFKA_TOPIC }, 'topic durability: the topic does not exist yet; not checked');
            return;
          }
          const verdict = judgeDurability(d);
          if (verdict.ok) return;
          const message = durabilityMessage(d, verdict);
          if (enforce) throw new AppError('CONFIG_INVALID', message, { details: { ...d } });
          logger.warn({ ...d, override: config.KAFKA_ALLOW_UNREPLICATED }, `${message} Allowed: ${config.KAFKA_ALLOW_UNREPLICATED ? 'KAFKA_ALLOW_UNREPLICATED=true' : `APP_ENV=${config.APP_ENV}`}.`);
          return;
        } catch (error) {
          if (error instanceof AppError) throw error;
          if (Date.now() > deadline) {
            throw new AppError('BROKER_UNAVAILABLE', `topic durability: Kafka did not answer within ${waitMs} ms`, { cause: error });
          }
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  if (enforce) return check();
  void check().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'topic durability: not checked'));
}
