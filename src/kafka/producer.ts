/**
 * The kafkajs adapter behind the BatchTransport port: an idempotent producer (acks=all) that
 * writes a whole group-commit batch with one sendBatch, and checks that kafkajs really wrote it.
 *
 * Why the check (found by the drill, issue 13): kafkajs 2.2.4's sendBatch remembers, across its
 * own retries, which BROKERS answered. When a leader dies mid-batch and its partitions move to a
 * broker that already answered for other partitions of the same batch, the retry sends them
 * nowhere and sendBatch resolves as if everything was written (the same shared response map as
 * the open tulios/kafkajs#1798). The events of those partitions would be acknowledged and lost.
 * Worse, their sequence numbers are then reused for the next events: if the dead leader's copy
 * had been replicated, the broker takes the next batch for a duplicate (lost too) or refuses it as
 * out of order, forever, for this producer id. So each send's answer must name every partition
 * sent to; if one is missing, or the broker reports the producer's sequence broken, the batch
 * fails (the API answers 503 and clients retry with the same key: the event ids do not change)
 * and the producer is replaced by a new one, with a new producer id and fresh sequences. So is a
 * producer whose batch outlives the ack timeout (`abandonAfterMs`): kafkajs may retry a batch
 * against a dead leader for seconds after a new one was elected.
 */
import { CompressionTypes, type Kafka, KafkaJSProtocolError, Partitioners, type Producer, type ProducerConfig, type RecordMetadata } from 'kafkajs';
import { AppError } from '../kernel/errors.ts';
import type { EventMessage } from '../kernel/events/session-completed.ts';
import type { Logger } from '../kernel/observability/logger.ts';
import type { BatchTransport } from './group-commit.ts';
import { partitionForKey } from './partition.ts';

/** How often the topic's partition count is re-read (Kafka's own clients default to 5 min). */
const PARTITION_REFRESH_MS = 30_000;

/**
 * How long an instance stays ready (/readyz) while it replaces its producer. The drill (run x):
 * a replacement after a broker kill made /readyz fail on every API instance at once, HAProxy took
 * them all out (2 failed checks) and put them back only after 2 good ones, so for ~2.5 s clients
 * got HAProxy's bare 503 instead of the API's own (JSON, with Retry-After), and the gap without a
 * 202 grew to 5.8 s. A replacement is brief and the broker is shared: taking every instance out
 * of rotation helps nobody. One that is still replacing after this long is taken out.
 */
export const READY_WHILE_REPLACING_MS = 10_000;

/** The transport's readiness, from its state (pure; see READY_WHILE_REPLACING_MS). */
export function transportReady(state: { readonly connected: boolean; readonly everSetUp: boolean; readonly replacingSince: number | undefined }, now: number): boolean {
  if (state.connected) return true;
  return state.everSetUp && state.replacingSince !== undefined && now - state.replacingSince < READY_WHILE_REPLACING_MS;
}

export interface KafkaTransport extends BatchTransport {
  /** Readiness: connected, or set up once and replacing its producer for less than READY_WHILE_REPLACING_MS. */
  readonly ready: (now?: number) => boolean;
  /** Connects, retrying in the background until it works or `disconnect` is called. */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** Partitions a send targeted that its answer does not acknowledge (empty: all written). */
export function unacknowledgedPartitions(sentTo: Iterable<number>, answer: readonly Pick<RecordMetadata, 'partition' | 'errorCode'>[]): number[] {
  const acked = new Set(answer.filter((r) => r.errorCode === 0).map((r) => r.partition));
  return [...new Set(sentTo)].filter((p) => !acked.has(p)).sort((a, b) => a - b);
}

/** Broker errors after which this producer id's sequence numbers cannot be trusted again. */
const SEQUENCE_BROKEN = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'DUPLICATE_SEQUENCE_NUMBER']);

export function breaksProducerSequence(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = (e as Error & { cause?: unknown }).cause, depth++) {
    if (e instanceof KafkaJSProtocolError && SEQUENCE_BROKEN.has(e.type)) return true;
    if (/out of order sequence|unknown producer id|producer.*epoch/i.test(e.message)) return true;
  }
  return false;
}

const PRODUCER_CONFIG: ProducerConfig = {
  idempotent: true, // requires acks=-1; kafkajs then retries without limit
  allowAutoTopicCreation: false,
  // Java-compatible murmur2 partitioning, so other clients agree on key -> partition.
  createPartitioner: Partitioners.DefaultPartitioner,
  // How soon a batch stuck on a dead leader is tried again. kafkajs's default backoff doubles
  // from 300 ms to 30 s: after a kill -9 the attempts fall at 0.3, 0.9, 2.1, 4.5 and 9.3 s, so the
  // first one after the new leader is elected (3 s in the cluster) came at 4.5 s or 9.3 s, and
  // writes resumed that late (the drill: 4.2-6.5 s without a 202). Capped at 500 ms (the Java
  // producer's retry.backoff.max.ms is 1 s), the batch lands within half a second of the
  // election. Each attempt against a dead broker is a refused connection, so the cap costs
  // nothing while it is down. Idempotent: no retry limit.
  retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 500 },
};

/**
 * Waits for `work` at most `ms`: 'late' if it has not settled by then (it keeps running; a later
 * rejection is swallowed, since nobody waits for it any more).
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<{ readonly kind: 'done'; readonly value: T } | { readonly kind: 'late' }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<{ kind: 'late' }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'late' }), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ kind: 'done' as const, value })), late]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}

export interface KafkaTransportOptions {
  /**
   * A batch kafkajs has not settled after this long is abandoned and the producer replaced
   * (default: never). The API passes its ack timeout, by which the batch's requests were answered.
   */
  readonly abandonAfterMs?: number;
}

export function createKafkaTransport(kafka: Kafka, topic: string, logger: Logger, options: KafkaTransportOptions = {}): KafkaTransport {
  // kafkajs emits CONNECT once the cluster is connected, BEFORE an idempotent producer has its
  // producer id (InitProducerId, retried while e.g. a restarted broker's coordinator loads). A send
  // in that window races kafkajs's own set-up: its broker lock is skipped on acquire and then
  // released ("brokerMutexLocks[...].release" TypeError), and the batch fails. Seen in the drill:
  // an API restarted right after a broker restart answered /readyz 200, took traffic and refused
  // 480 requests with 503. So the transport counts as connected only once connect() has finished.
  let setUp = false;
  let isConnected = false;
  let stopping = false;
  let replacing: Promise<void> | undefined;
  let replacingSince: number | undefined;
  let everSetUp = false;
  const makeProducer = (): Producer => {
    const p = kafka.producer(PRODUCER_CONFIG);
    p.on(p.events.CONNECT, () => {
      if (p === producer) isConnected = true;
    });
    p.on(p.events.DISCONNECT, () => {
      if (p === producer) isConnected = false;
    });
    return p;
  };
  let producer: Producer = makeProducer();
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

  /** Connects the current producer (and the admin), retrying until it works or we stop. */
  async function connectCurrent(): Promise<void> {
    for (let attempt = 1; !stopping; attempt++) {
      try {
        await producer.connect();
        await admin.connect();
        await refreshPartitions();
        refresher ??= setInterval(() => void refreshPartitions(), PARTITION_REFRESH_MS);
        refresher.unref?.();
        setUp = true;
        everSetUp = true;
        return;
      } catch (error) {
        logger.warn({ attempt, err: (error as Error).message }, 'producer connect failed; retrying');
        await Bun.sleep(Math.min(5_000, 200 * attempt));
      }
    }
  }

  /** Swaps in a new producer (new producer id, sequences from 0); sends fail fast meanwhile. */
  function replaceProducer(reason: string): Promise<void> {
    replacing ??= (async () => {
      replacingSince = Date.now();
      logger.error({ reason }, 'replacing the Kafka producer (new producer id, connections and metadata)');
      setUp = false;
      isConnected = false;
      const old = producer;
      producer = makeProducer();
      // In the background: a producer stuck retrying against a dead broker took the whole 2 s of
      // a bounded wait to disconnect (the drill, run y), which its successor need not wait for.
      void withinDeadline(old.disconnect(), 10_000);
      await connectCurrent();
    })().finally(() => {
      replacing = undefined;
      replacingSince = undefined;
    });
    return replacing;
  }

  return {
    ready: (now = Date.now()) => transportReady({ connected: setUp && isConnected, everSetUp, replacingSince }, now),
    connect: connectCurrent,
    async disconnect() {
      stopping = true;
      if (refresher) clearInterval(refresher);
      await replacing?.catch(() => undefined);
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
    async sendBatch(messages: readonly EventMessage[]) {
      if (!setUp || !isConnected) throw new AppError('BROKER_UNAVAILABLE', 'Not connected to the event broker. Retry later.');
      const count = partitions;
      const sentTo = new Set<number>();
      const records = messages.map((m) => {
        if (count === 0) return { key: m.key, value: m.value, headers: m.headers as Record<string, string> };
        const partition = partitionForKey(m.key, count);
        sentTo.add(partition);
        return { key: m.key, value: m.value, headers: m.headers as Record<string, string>, partition };
      });
      let answer: RecordMetadata[];
      const sending = producer;
      try {
        const send = sending.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [{ topic, messages: records }] });
        if (options.abandonAfterMs === undefined) answer = await send;
        else {
          // A leader killed mid-batch: kafkajs kept retrying one batch for 5.3 s (the drill, run t)
          // and only then resolved it with partitions missing, while every other request was
          // refused behind it. Past the ack timeout its requests have been answered 503 anyway:
          // give the batch up and start over with a new producer (fresh connections and metadata,
          // a new producer id, so the old one's late writes cannot break its sequences). Whatever
          // the old one still writes is a duplicate the consumers drop by event id.
          const settled = await withinDeadline(send, options.abandonAfterMs);
          if (settled.kind === 'late') {
            if (sending === producer) void replaceProducer(`a batch was not acknowledged within ${options.abandonAfterMs} ms`);
            throw new AppError('BROKER_UNAVAILABLE', 'The event broker did not acknowledge the write in time. Retry later.');
          }
          answer = settled.value;
        }
      } catch (error) {
        if (breaksProducerSequence(error) && sending === producer) void replaceProducer((error as Error).message);
        throw error;
      }
      // With no partition count yet kafkajs chose the partitions: nothing to check against.
      const missing = count === 0 ? [] : unacknowledgedPartitions(sentTo, answer);
      if (missing.length > 0) {
        if (sending === producer) void replaceProducer(`kafkajs answered a batch without acknowledging partitions ${missing.join(', ')}`);
        throw new AppError('BROKER_UNAVAILABLE', 'The event broker did not acknowledge every message of the write. Retry later.', {
          details: { unacknowledgedPartitions: missing },
        });
      }
    },
  };
}
