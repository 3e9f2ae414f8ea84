/**
 * The public shape of every consumer process (PostgreSQL read model, ClickHouse analytics, ...).
 * A consumer is: a Kafka consumer group on the SessionCompleted topic, a decode step that
 * dead-letters what does not decode, a batcher, and a `BatchSink` that writes a batch
 * idempotently. The run loop alone decides commits, retries and dead letters.
 */
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Config } from '../../src/kernel/config.ts';
import type { SessionCompleted } from '../../src/kernel/events/session-completed.ts';
import type { Logger } from '../../src/kernel/observability/logger.ts';
import type { GroupProtocol } from './group-source.ts';

export type { SessionCompleted };

/**
 * What a sink says about a batch it wrote: events it deliberately did not write, by index in the
 * batch it was given, with the reason; the run loop dead-letters them (kind idempotency_conflict).
 */
export interface WriteReport {
  readonly conflicts: ReadonlyArray<{ readonly index: number; readonly reason: string }>;
}

/** Where a consumer writes its batches. The only thing a new consumer has to provide. */
export interface BatchSink {
  readonly name: string;
  /**
   * Writes the batch idempotently (a redelivered or replayed event changes nothing). Throw to
   * have the runtime retry the same batch with backoff; nothing is committed until it succeeds.
   * Throw a non-retriable AppError (STORE_REJECTED) when the store refused what is in the batch:
   * the runtime then isolates the refused events (write-failure.ts). Events arrive in partition
   * order; the same session may appear more than once.
   */
  write(events: readonly SessionCompleted[]): Promise<void | WriteReport>;
  /** Optional readiness probe (e.g. `SELECT 1`): throw or reject when the store is unreachable. */
  ping?(): Promise<void>;
  /**
   * Optional: get ready for the first write (connect, prepare per-connection state). Called once,
   * before the consumer joins its group; `ping` stands in when absent. A failure is logged, not
   * fatal: the first write retries as any other.
   */
  warm?(): Promise<void>;
  /**
   * Optional: run a write's whole path with these made-up events (rehearsal.ts) and keep
   * nothing, so the first real batch after joining does not run cold code. Called once, after
   * `warm` and before the consumer joins its group; a failure is logged, not fatal.
   */
  rehearse?(events: readonly SessionCompleted[]): Promise<void>;
}

export interface ConsumerOptions {
  kafka: Kafka;
  topic: string;
  dlqTopic: string;
  groupId: string;
  sink: BatchSink;
  /** Flush when this many messages are buffered... */
  batchMaxEvents: number;
  /** ...or when the oldest buffered message has waited this long. */
  batchMaxWaitMs: number;
  /** Cap of the exponential backoff between retries of a failed write. */
  retryMaxBackoffMs: number;
  logger: Logger;
  registry: Registry;
  /** Start from the earliest offset when the group has no committed offset (default false). */
  fromBeginning?: boolean;
  /** First retry delay (default 100 ms); doubles per attempt up to retryMaxBackoffMs. */
  retryBaseBackoffMs?: number;
  /** Labels every metric of this consumer (default: the sink name). Lets tests run several per registry. */
  metricsLabel?: string;
  /** retention.ms of the dead-letter topic if this consumer has to create it (default: KAFKA_TOPIC_RETENTION_MS's default). */
  dlqRetentionMs?: number;
  /**
   * The consumer group protocol (group-source.ts): 'classic' (kafkajs, eager rebalances; the
   * default) or 'consumer' (KIP-848 through @platformatic/kafka: members that keep their
   * partitions never stop; session timeout and heartbeat interval are then the broker's settings).
   */
  groupProtocol?: GroupProtocol;
  /** Bootstrap brokers, for the 'consumer' protocol's client (kafkajs's Kafka does not expose them). */
  brokers?: readonly string[];
  /** Client id of the 'consumer' protocol's client (default: the group id). */
  clientId?: string;
  /** Kafka group session timeout (default 30 s): how soon partitions of a dead member move on. */
  sessionTimeoutMs?: number;
  /** Heartbeat interval; default min(3 s, session timeout / 3). Bounds how late a member notices a rebalance. */
  heartbeatIntervalMs?: number;
  /** Fetch minBytes (default 1, kafkajs's) and the broker's longest hold of a fetch (default min(500, batchMaxWaitMs)). */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  /**
   * Made-up events decoded and rehearsed by the sink before joining (rehearsal.ts; default
   * REHEARSAL_EVENTS); 0 skips the rehearsal.
   */
  rehearsalEvents?: number;
  /** Called once, just before the consumer joins its group (main.ts takes its CPU priority back here). */
  beforeJoin?: () => void;
  /** Injected clock (ms since epoch), for freshness; default Date.now. */
  now?: () => number;
  /** Called when the Kafka consumer crashes; `restart` false means kafkajs gave up (exit and let the supervisor restart). */
  onCrash?: (error: unknown, restart: boolean) => void;
}

export interface RunningConsumer {
  /** Connects, joins the group and starts the run loop. Resolves once the consumer is running. */
  start(): Promise<void>;
  /**
   * Stops fetching, flushes what is buffered (one last attempt if the sink is failing: a backoff
   * in progress is interrupted), commits what was written, leaves the group and disconnects.
   */
  stop(): Promise<void>;
  /** resolves when committed offsets reach the high watermarks seen at call time */
  whenCaughtUp(timeoutMs?: number): Promise<void>;
  /** True while the consumer is a member of the group with an assignment (readiness). */
  isJoined?(): boolean;
}

/** Arguments of `runConsumerMain`, the entry point shape every consumer process uses. */
export interface ConsumerMainArgs {
  name: string;
  metricsPort: number;
  makeSink(config: Config, logger: Logger, registry: Registry): Promise<BatchSink & { close(): Promise<void> }>;
  groupId: string;
  batchMaxEvents: number;
  batchMaxWaitMs: number;
  /**
   * Where a group with no committed offset starts. Default true: a read model needs the whole
   * history, so a new deployment (or a new group id) replays the topic from the earliest offset.
   */
  fromBeginning?: boolean;
  /** The already parsed config, when the entry point needed it to fill the fields above (parsed from process.env otherwise). */
  config?: Config;
}
