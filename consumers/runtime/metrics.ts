/**
 * The metrics every consumer exports. They live on the process's Registry (passed in) and carry a
 * `consumer` label, so two consumers (or two tests) can share one registry without a clash.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ConsumerMetrics {
  readonly batchSize: Histogram<'consumer'>;
  readonly eventsWritten: Counter<'consumer'>;
  readonly writeDuration: Histogram<'consumer'>;
  readonly writeRetries: Counter<'consumer' | 'step'>;
  readonly deadLetters: Counter<'consumer' | 'reason_kind'>;
  readonly storeRejections: Counter<'consumer' | 'code'>;
  readonly bisectWrites: Counter<'consumer'>;
  readonly idempotencyConflicts: Counter<'consumer'>;
  readonly lag: Gauge<'consumer' | 'topic' | 'partition'>;
  readonly freshness: Histogram<'consumer'>;
  readonly rebalanceResume: Histogram<'consumer'>;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const registers = [registry];
  return {
    batchSize: getOrCreate(registry, 'consumer_batch_size', () =>
      new Histogram({
        name: 'consumer_batch_size',
        help: 'Messages per batch handed to the sink (decoded events plus dead letters).',
        labelNames: ['consumer'],
        buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000],
        registers,
      }),
    ),
    eventsWritten: getOrCreate(registry, 'consumer_events_written_total', () =>
      new Counter({
        name: 'consumer_events_written_total',
        help: 'Events written by the sink and committed (redeliveries count again).',
        labelNames: ['consumer'],
        registers,
      }),
    ),
    writeDuration: getOrCreate(registry, 'consumer_write_duration_seconds', () =>
      new Histogram({
        name: 'consumer_write_duration_seconds',
        help: 'Duration of one successful sink write (one batch).',
        labelNames: ['consumer'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
    ),
    writeRetries: getOrCreate(registry, 'consumer_retries_total', () =>
      new Counter({
        name: 'consumer_retries_total',
        help: 'Failed attempts that were retried with backoff, by step (write, dead-letter, commit).',
        labelNames: ['consumer', 'step'],
        registers,
      }),
    ),
    deadLetters: getOrCreate(registry, 'consumer_dead_letters_total', () =>
      new Counter({
        name: 'consumer_dead_letters_total',
        help: 'Messages sent to the dead-letter topic, by kind of reason.',
        labelNames: ['consumer', 'reason_kind'],
        registers,
      }),
    ),
    storeRejections: getOrCreate(registry, 'consumer_store_rejections_total', () =>
      new Counter({
        name: 'consumer_store_rejections_total',
        help: 'Events a store refused for good and that were dead-lettered, by the store\'s code (SQLSTATE, clickhouse-N).',
        labelNames: ['consumer', 'code'],
        registers,
      }),
    ),
    bisectWrites: getOrCreate(registry, 'consumer_bisect_writes_total', () =>
      new Counter({
        name: 'consumer_bisect_writes_total',
        help: 'Writes made to isolate the events of a batch a store refused (the refused batch included).',
        labelNames: ['consumer'],
        registers,
      }),
    ),
    idempotencyConflicts: getOrCreate(registry, 'consumer_idempotency_conflicts_total', () =>
      new Counter({
        name: 'consumer_idempotency_conflicts_total',
        help: 'Events whose id was seen before with another request hash (a reused Idempotency-Key): the first kept, this one dead-lettered.',
        labelNames: ['consumer'],
        registers,
      }),
    ),
    lag: getOrCreate(registry, 'consumer_lag_messages', () =>
      new Gauge({
        name: 'consumer_lag_messages',
        help: 'High watermark minus committed offset, per partition.',
        labelNames: ['consumer', 'topic', 'partition'],
        registers,
      }),
    ),
    freshness: getOrCreate(registry, 'consumer_freshness_seconds', () =>
      new Histogram({
        name: 'consumer_freshness_seconds',
        help: 'End-to-end freshness: from the API receiving the request (receivedAt) to the commit of its batch.',
        labelNames: ['consumer'],
        // Fine between 0.5 and 3 s, where the freshness goals (1 s Postgres, 2 s ClickHouse) are judged.
        buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.625, 0.75, 0.875, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 7.5, 10, 30, 60, 300],
        registers,
      }),
    ),
    rebalanceResume: getOrCreate(registry, 'consumer_rebalance_resume_seconds', () =>
      new Histogram({
        name: 'consumer_rebalance_resume_seconds',
        help: 'From joining the group (start or rebalance) to the first commit after it: how long a join kept this member\'s partitions from being written.',
        labelNames: ['consumer'],
        buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
        registers,
      }),
    ),
  };
}
