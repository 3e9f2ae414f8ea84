/**
 * The classic consumer group protocol through kafkajs (`eachBatch`, autoCommit off). kafkajs
 * rebalances eagerly: a member that joins or leaves makes every member stop until all have
 * rejoined, and a member learns of it only from a heartbeat answer (heartbeatIntervalOf).
 */
import type { Batch, Consumer, Kafka } from 'kafkajs';
import { FETCH_MAX_BYTES, FETCH_MAX_BYTES_PER_PARTITION, type GroupEvents, type GroupSource } from '../group-source.ts';

export interface KafkajsSourceOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly fetchMinBytes: number;
  readonly fetchMaxWaitMs: number;
}

export function kafkajsSource(options: KafkajsSourceOptions): GroupSource {
  const { topic } = options;
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
  });

  return {
    protocol: 'classic',
    async start(events: GroupEvents) {
      consumer.on(consumer.events.GROUP_JOIN, (e) => events.onAssigned(e.payload.memberAssignment[topic] ?? []));
      consumer.on(consumer.events.REBALANCING, () => events.onUnassigned());
      consumer.on(consumer.events.STOP, () => events.onUnassigned());
      consumer.on(consumer.events.CRASH, (e) => {
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
