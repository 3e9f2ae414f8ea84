/**
 * KIP-848's consumer group protocol (Kafka 4.0+) through @platformatic/kafka (kafkajs has only
 * the classic protocol). The broker computes the assignment and hands partitions over one by
 * one: a member that joins takes partitions from the others without stopping them, and a member
 * that leaves (or dies) has only its own partitions moved. Issue 13: with kafkajs every scale step
 * of a group stopped all its members until the last one rejoined.
 *
 * What the broker owns under this protocol: the session timeout and the heartbeat interval
 * (`group.consumer.session.timeout.ms`, `group.consumer.heartbeat.interval.ms`, set by the
 * stack: stack/kafka.ts), and the assignor. What this adapter does:
 * - reads the client's message stream (`mode: committed`, autocommit off) in the slices it has
 *   ready, one FetchedBatch per partition, and holds the stream while the run loop holds a batch
 *   (the stream stops fetching at its highWaterMark: backpressure);
 * - tells the run loop each new assignment: the client revokes and assigns from its heartbeat
 *   answers, and updates `consumer.assignments` before it acknowledges the change to the broker;
 * - commits exactly the offsets the run loop asks for, with the leader epoch of the last message
 *   read from each partition.
 * A message of a partition already revoked may still come out of the stream's buffer: the run
 * loop buffers only partitions it holds (isStale) and commits only those, and the new owner reads
 * from the last commit, so nothing is skipped (the sinks are idempotent).
 */
import './lazy-ajv.ts'; // before the client: it compiles its validators when it loads (lazy-ajv.ts)
import { Consumer, type Message } from '@platformatic/kafka';
import { tracingChannel } from 'node:diagnostics_channel';
import type { Readable } from 'node:stream';
import { describeError } from '../../../src/kernel/errors.ts';
import type { Logger } from '../../../src/kernel/observability/logger.ts';
import type { SourceMessage } from '../dead-letter.ts';
import { FETCH_MAX_BYTES, FETCH_MAX_BYTES_PER_PARTITION, type BatchControl, type FetchedBatch, type GroupEvents, type GroupSource } from '../group-source.ts';
import { Signal } from '../signal.ts';

export interface Kip848SourceOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  readonly groupId: string;
  readonly fromBeginning: boolean;
  readonly fetchMinBytes: number;
  readonly fetchMaxWaitMs: number;
  readonly logger: Logger;
}

/** Messages taken from the stream per slice (then handed over partition by partition). */
const SLICE_MESSAGES = 2_000;

/** The shape the run loop and the dead-letter code read (dead-letter.ts SourceMessage). */
export function toSourceMessage(m: Pick<Message, 'key' | 'value' | 'headers' | 'offset' | 'timestamp'>): SourceMessage {
  let headers: Record<string, Buffer> | undefined;
  if (m.headers.size > 0) {
    headers = {};
    for (const [k, v] of m.headers) headers[k.toString()] = v;
  }
  return {
    key: m.key ?? null,
    value: m.value ?? null,
    ...(headers ? { headers } : {}),
    offset: m.offset.toString(),
    timestamp: m.timestamp.toString(),
  };
}

/** Consecutive messages grouped by partition, each group in the order read (offset order per partition). */
export function byPartition<M extends { readonly partition: number }>(messages: readonly M[]): Map<number, M[]> {
  const out = new Map<number, M[]>();
  for (const m of messages) {
    const list = out.get(m.partition);
    if (list) list.push(m);
    else out.set(m.partition, [m]);
  }
  return out;
}

export function kip848Source(options: Kip848SourceOptions): GroupSource {
  const { topic } = options;
  const log = options.logger.child({ component: 'kip848-source', groupId: options.groupId });
  const consumer = new Consumer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    groupId: options.groupId,
    groupProtocol: 'consumer',
    // A broker that dies: requests are retried (with fresh metadata) for ~10 s before the stream
    // fails, which the run loop reports as a crash (the supervisor restarts the process).
    retries: 20,
    retryDelay: 500,
    timeout: 10_000,
  });
  let stream: (Readable & { close(): Promise<void> }) | undefined;
  let current: ReadonlySet<number> | undefined;
  let running = false;
  const leaderEpochs = new Map<number, number>();
  // The stream's messages do not carry the partition's high watermark (the lag metric); the
  // client publishes every fetch answer on a diagnostics channel, which is where it is read.
  const highWatermarks = new Map<number, string>();
  const fetches = tracingChannel('plt:kafka:consumer:fetches');
  const fetchTracer = {
    asyncStart(message: object) {
      const trace = message as FetchTrace;
      if (trace.client !== consumer) return;
      for (const t of trace.result?.responses ?? []) for (const p of t.partitions) highWatermarks.set(p.partitionIndex, String(p.highWatermark));
    },
  };

  /** The client's assignment of our topic; undefined until the broker sent the first one. */
  function clientAssignment(): number[] | undefined {
    const all = consumer.assignments;
    if (all === null || all === undefined) return undefined;
    return [...(all.find((a) => a.topic === topic)?.partitions ?? [])].sort((a, b) => a - b);
  }

  function refreshAssignment(events: GroupEvents): void {
    const mine = clientAssignment();
    if (mine === undefined) return;
    if (current !== undefined && current.size === mine.length && mine.every((p) => current!.has(p))) return;
    current = new Set(mine);
    events.onAssigned(mine);
  }

  async function pump(events: GroupEvents, s: Readable): Promise<void> {
    // One 'readable' listener for the stream's life: removing the last one would put the stream
    // back in its "nobody reads" state, in which the client stops fetching.
    const readable = new Signal();
    for (const event of ['readable', 'end', 'close', 'error']) s.on(event, () => readable.notify());
    const controlOf = (partition: number): BatchControl => ({
      isStale: () => {
        refreshAssignment(events);
        return !(current?.has(partition) ?? false);
      },
      isRunning: () => running,
      keepAlive: async () => {}, // the client heartbeats on its own timer
    });
    while (running) {
      const slice: Message[] = [];
      for (let m: Message | null; slice.length < SLICE_MESSAGES && (m = s.read() as Message | null) !== null; ) slice.push(m);
      if (slice.length === 0) {
        if (s.destroyed || s.readableEnded) return;
        // read() returned null, so the stream emits 'readable' at its next message.
        await readable.wait(1_000);
        continue;
      }
      refreshAssignment(events);
      for (const [partition, messages] of byPartition(slice)) {
        leaderEpochs.set(partition, messages[messages.length - 1]!.leaderEpoch);
        const highWatermark = highWatermarks.get(partition);
        const batch: FetchedBatch = { partition, messages: messages.map(toSourceMessage), ...(highWatermark === undefined ? {} : { highWatermark }) };
        await events.onBatch(batch, controlOf(partition));
      }
    }
  }

  return {
    protocol: 'consumer',
    async start(events: GroupEvents) {
      fetches.subscribe(fetchTracer);
      consumer.on('consumer:heartbeat:end', () => refreshAssignment(events));
      consumer.on('consumer:group:join', () => refreshAssignment(events));
      consumer.on('consumer:group:leave', () => {
        current = undefined;
        events.onUnassigned();
      });
      consumer.on('consumer:heartbeat:error', (e: { error?: unknown }) => log.warn({ error: describeError(e.error) }, 'group heartbeat failed; retrying'));
      consumer.on('error', (error: unknown) => log.warn({ error: describeError(error) }, 'kafka client error'));
      const s = (await consumer.consume({
        topics: [topic],
        mode: 'committed',
        fallbackMode: options.fromBeginning ? 'earliest' : 'latest',
        autocommit: false,
        minBytes: options.fetchMinBytes,
        maxWaitTime: options.fetchMaxWaitMs,
        maxBytesPerPartition: FETCH_MAX_BYTES_PER_PARTITION,
        maxBytes: FETCH_MAX_BYTES,
      })) as unknown as Readable & { close(): Promise<void> };
      stream = s;
      running = true;
      s.on('error', (error: unknown) => {
        if (!running) return;
        running = false;
        current = undefined;
        events.onUnassigned();
        events.onCrash(error, false);
      });
      void pump(events, s).catch((error: unknown) => {
        running = false;
        events.onCrash(error, false);
      });
    },
    async commit(offsets) {
      await consumer.commit({
        offsets: offsets.map(({ partition, offset }) => ({ topic, partition, offset: BigInt(offset), leaderEpoch: leaderEpochs.get(partition) ?? -1 })),
      });
    },
    pause() {
      stream?.pause();
    },
    async stop() {
      running = false;
      fetches.unsubscribe(fetchTracer);
      try {
        await stream?.close();
      } finally {
        current = undefined;
        await consumer.close();
      }
    },
  };
}

/** What the client's fetch trace carries that this adapter reads. */
interface FetchTrace {
  readonly client?: unknown;
  readonly result?: { readonly responses?: ReadonlyArray<{ readonly partitions: ReadonlyArray<{ readonly partitionIndex: number; readonly highWatermark: bigint }> }> };
}
