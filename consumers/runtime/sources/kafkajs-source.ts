/**
 * The classic consumer group protocol through kafkajs (`eachBatch`, autoCommit off). kafkajs
 * rebalances eagerly: a member that joins or leaves makes every member stop until all have
 * rejoined, and a member learns of it only from a heartbeat answer (heartbeatIntervalOf).
 */
import { type Batch, type Consumer, type Kafka, PartitionAssigners } from 'kafkajs';
import { FETCH_MAX_BYTES, FETCH_MAX_BYTES_PER_PARTITION, type GroupEvents, type GroupSource } from '../group-source.ts';
import { stickyAssigner } from './sticky-assigner.ts';

export interface KafkajsSourceOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly fetchMinBytes: number;
  readonly fetchMaxWaitMs: number;
  /** True once the member is stopping: a rejoin meanwhile asks for no partitions (sticky-assigner.ts). */
  readonly leaving?: () => boolean;
}

/**
 * How kafkajs retries a consumer's requests before it gives up, crashes the consumer and restarts
 * it (our onCrash sees `restart: true`) after the last retry's delay. kafkajs finds the group
 * coordinator only when it joins: when the coordinator's broker dies, every heartbeat and commit
 * goes on failing against the dead broker, and only a restart (a new join) asks which broker
 * coordinates the group now. kafkajs's default (5 retries from 300 ms, doubling up to 30 s) spent
 * 9.3 s in retries and then waited 9 s more before the restart: in the drill's broker kill, the
 * Postgres group (its coordinator on the killed broker) stood still for 17-19 s while its
 * partitions had new leaders after 2.5 s (freshness p99 10-17 s, lag up to 9,895 events). Six
 * retries from 100 ms capped at 1 s give up after about 3.5 s and restart 1 s later, once the
 * dead broker is fenced and a live one coordinates the group. A broker that is only slow for a
 * moment costs a restart (one rebalance) instead of a longer wait.
 */
export const CONSUMER_RETRY = { initialRetryTime: 100, maxRetryTime: 1_000, retries: 6 } as const;

export function kafkajsSource(options: KafkajsSourceOptions): GroupSource {
  const { topic } = options;
  /** This member's partitions since its last join, told to the group leader at the next (sticky-assigner.ts). */
  let owned: readonly number[] = [];
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    // A member learns that its group is rebalancing (a consumer joined or left) only from a
    // heartbeat answer, and every member stops consuming until all have rejoined (kafkajs has
    // no cooperative rebalancing): the interval bounds that pause (CONSUMER_HEARTBEAT_INTERVAL_MS).
    heartbeatInterval: options.heartbeatIntervalMs,
    // Issue 11: kafkajs's minBytes default (1) made every event at ordinary rates its own fetch
    // round trip, decode pass and broker request; the broker now holds a fetch until
    // fetchMinBytes are ready or fetchMaxWaitMs passed (which bounds freshness at low rates and
    // how long stop() waits for the last fetch). Defaults and the A/B: docs/performance.md.
    minBytes: options.fetchMinBytes,
    maxWaitTimeInMs: options.fetchMaxWaitMs,
    maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
    maxBytes: FETCH_MAX_BYTES,
    retry: CONSUMER_RETRY,
    // Sticky first; round-robin while a member of an older version is still in the group.
    partitionAssigners: [stickyAssigner(() => ({ [topic]: owned }), options.leaving), PartitionAssigners.roundRobin],
  });

  return {
    protocol: 'classic',
    async start(events: GroupEvents) {
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        owned = e.payload.memberAssignment[topic] ?? [];
        events.onAssigned(owned);
      });
      consumer.on(consumer.events.REBALANCING, () => events.onUnassigned());
      consumer.on(consumer.events.STOP, () => events.onUnassigned());
      consumer.on(consumer.events.CRASH, (e) => {
        owned = []; // a restarted client joins as a new member: it owns nothing any more
        events.onUnassigned();
        events.onCrash(e.payload.error, e.payload.restart);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch: ({ batch, heartbeat, isRunning, isStale }: { batch: Batch; heartbeat(): Promise<void>; isRunning(): boolean; isStale(): boolean }) =>
          events.onBatch(
            { partition: batch.partition, highWatermark: batch.highWatermark, messages: batch.messages },
            { isStale, isRunning, keepAlive: heartbeat },
          ),
      });
    },
    async commit(offsets) {
      await consumer.commitOffsets(offsets.map(({ partition, offset }) => ({ topic, partition, offset })));
    },
    pause() {
      try {
        consumer.pause([{ topic }]);
      } catch {
        // not running (start failed): nothing to pause
      }
    },
    stop: () => consumer.disconnect(),
  };
}
