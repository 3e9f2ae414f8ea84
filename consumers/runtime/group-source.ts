/**
 * The port between the run loop (consumer.ts) and the Kafka client that feeds it: group
 * membership, fetches and commits. Two adapters implement it:
 * - `classic` (sources/kafkajs-source.ts): kafkajs's consumer group, the classic protocol. On any
 *   change of membership every member stops until all have rejoined (eager rebalancing).
 * - `consumer` (sources/kip848-source.ts): @platformatic/kafka with KIP-848's consumer group
 *   protocol (Kafka 4.0+). The broker computes the assignment and moves partitions one by one:
 *   members that keep theirs never stop (issue 13: freshness while consumer groups scale).
 * The run loop alone decides what to commit and when; an adapter never commits by itself.
 */
import type { SourceMessage } from './dead-letter.ts';

export type GroupProtocol = 'classic' | 'consumer';

/**
 * Fetch sizes, the same under both adapters. Small fetches: a client parses a whole fetch answer
 * at once, and decoding a big one blocked the event loop for hundreds of ms while the sink's
 * database replies waited. Measured on 300k events (kafkajs): 256 KiB per partition consumed
 * faster than 4 MiB, even without a sink.
 */
export const FETCH_MAX_BYTES_PER_PARTITION = 256 * 1024;
export const FETCH_MAX_BYTES = 4 * 1024 * 1024;

/** Messages of one partition, in offset order, as one fetch returned them. */
export interface FetchedBatch {
  readonly partition: number;
  /** The partition's high watermark at the fetch, when the client reports it (lag metric). */
  readonly highWatermark?: string;
  readonly messages: readonly SourceMessage[];
}

/** What the run loop may ask of the adapter while it handles a batch. */
export interface BatchControl {
  /** True once a rebalance took this batch's partition away (the rest of it must not be taken). */
  isStale(): boolean;
  /** False once the adapter is stopping or the member left its group. */
  isRunning(): boolean;
  /**
   * Called while the run loop holds a batch for backpressure: keeps the membership alive where
   * the protocol needs the fetch loop's help (classic: a heartbeat; it throws on a rebalance).
   */
  keepAlive(): Promise<void>;
}

export interface GroupEvents {
  /** The member's whole assignment of the topic, each time it changes (also when it is empty). */
  onAssigned(partitions: readonly number[]): void;
  /** The member is between assignments (a classic rebalance began, or it stopped). */
  onUnassigned(): void;
  /** A fetched batch. Resolving it asks for more; holding it holds the fetches (backpressure). */
  onBatch(batch: FetchedBatch, control: BatchControl): Promise<void>;
  /** The client failed; `restart` false means it will not recover by itself (exit, let the supervisor restart). */
  onCrash(error: unknown, restart: boolean): void;
}

export interface GroupSource {
  readonly protocol: GroupProtocol;
  /** Connects, joins the group, subscribes and starts fetching. */
  start(events: GroupEvents): Promise<void>;
  /** Commits the next offset to read, per partition. Throws on failure (the run loop retries). */
  commit(offsets: ReadonlyArray<{ readonly partition: number; readonly offset: string }>): Promise<void>;
  /** Stops fetching (stop() has begun); what is buffered is still flushed and committed. */
  pause(): void;
  /** Leaves the group and disconnects. */
  stop(): Promise<void>;
}
