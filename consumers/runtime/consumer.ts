/**
 * The one run loop every consumer uses.
 *
 * Two halves meet at a bounded buffer:
 * - the fetch side (a GroupSource, group-source.ts: kafkajs's classic group or KIP-848's) decodes each message into an event or a
 *   dead letter and appends it to the buffer. When the buffer is full it holds the fetch (and
 *   keeps heartbeating), which is how a partition "waits" while the sink is failing;
 * - the run loop takes up to `batchMaxEvents` messages when the batch is full or the oldest one
 *   has waited `batchMaxWaitMs` since it was produced (batching.ts `oldestWaitMs`), dead-letters the bad ones, hands the events to the sink once,
 *   and only then commits, per partition, the highest offset + 1.
 * A failure in any of those steps is retried with capped exponential backoff: no skip, no
 * commit, no crash loop. The one exception is a write the store refuses for what is in it
 * (a non-retriable sink error, write-failure.ts): the loop bisects the batch (bisect.ts), writes
 * what the store takes, dead-letters exactly the events it refuses, with the store's message, and
 * commits, so a poisoned event never stops its partition. `stop()` interrupts a backoff, makes
 * one last attempt to flush, commits what was written and leaves the group; whatever was not
 * written is redelivered on restart, which the idempotent sink turns into a no-op.
 */
import { type Admin, Partitioners, type Producer } from 'kafkajs';
import { AppError, describeError } from '../../src/kernel/errors.ts';
import { DEFAULT_TOPIC_RETENTION_MS } from '../../src/kernel/config.ts';
import type { SessionCompleted } from '../../src/kernel/events/session-completed.ts';
import { ensureDeadLetterTopic } from '../../src/kernel/kafka/topics.ts';
import { decideRetry } from './backoff.ts';
import { bufferLimit, decideFlush, oldestWaitMs } from './batching.ts';
import { afterSlice, nextBisectStep, startBisection, type RefusedEvent } from './bisect.ts';
import { storeRejectionHeaders, toDeadLetter, type SourceMessage } from './dead-letter.ts';
import { decodeMessage } from './decode.ts';
import type { BatchControl, FetchedBatch, GroupSource } from './group-source.ts';
import { consumerMetrics } from './metrics.ts';
import { OffsetBook, isCaughtUp, nextOffsets, partitionLag, type WatermarkRange } from './offsets.ts';
import { attempt, type DeadLetter, type DeadLetterKind } from './results.ts';
import { REHEARSAL_EVENTS, rehearsalEvents } from './rehearsal.ts';
import { Signal } from './signal.ts';
import { kafkajsSource } from './sources/kafkajs-source.ts';
import type { ConsumerOptions, RunningConsumer, WriteReport } from './types.ts';
import { decideOnWriteFailure, type Refusal } from './write-failure.ts';

type Buffered =
  | {
      readonly partition: number;
      readonly offset: string;
      readonly arrivedAt: number;
      /** The Kafka timestamp (epoch ms): when the API produced it. */
      readonly producedAt: number;
      readonly kind: 'ok';
      readonly event: SessionCompleted;
      /** Kept for a dead letter, should the store refuse the event (the original bytes go to the DLQ). */
      readonly message: SourceMessage;
    }
  | {
      readonly partition: number;
      readonly offset: string;
      readonly arrivedAt: number;
      readonly producedAt: number;
      readonly kind: 'dlq';
      readonly failure: DeadLetter;
      readonly message: SourceMessage;
    };

const DEFAULT_CAUGHT_UP_TIMEOUT_MS = 60_000;
/** Decoding costs ~10 us a message: yield every ~5 ms so the sink's I/O is not starved. */
const YIELD_EVERY_MESSAGES = 500;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The heartbeat interval: as configured, else min(3 s, session / 3) (kafkajs's own default);
 * never over a third of the session. Idle, each heartbeat is a broker request: the single-node
 * stack keeps 3 s for issue 11's idle budget, the cluster layout sets 250 ms so that its groups
 * notice a rebalance sooner (issue 13).
 */
export function heartbeatIntervalOf(options: Pick<ConsumerOptions, 'sessionTimeoutMs' | 'heartbeatIntervalMs'>): number {
  const third = Math.floor((options.sessionTimeoutMs ?? 30_000) / 3);
  return Math.min(options.heartbeatIntervalMs ?? 3_000, third);
}

/**
 * The adapter for the configured group protocol (group-source.ts). The KIP-848 client is loaded
 * only when chosen: @platformatic/kafka compiles its option validators (ajv) when it loads, which
 * costs a starting process several times kafkajs's whole load.
 */
async function groupSourceOf(options: ConsumerOptions, leaving: () => boolean): Promise<GroupSource> {
  const fetchMinBytes = options.fetchMinBytes ?? 1;
  const fetchMaxWaitMs = options.fetchMaxWaitMs ?? Math.min(500, Math.max(10, options.batchMaxWaitMs));
  const fromBeginning = options.fromBeginning ?? false;
  if ((options.groupProtocol ?? 'classic') === 'consumer') {
    if (!options.brokers || options.brokers.length === 0) {
      throw new AppError('INTERNAL', 'the consumer group protocol needs the bootstrap brokers (ConsumerOptions.brokers)');
    }
    const { kip848Source } = await import('./sources/kip848-source.ts');
    return kip848Source({
      brokers: options.brokers,
      clientId: options.clientId ?? options.groupId,
      topic: options.topic,
      groupId: options.groupId,
      fromBeginning,
      fetchMinBytes,
      fetchMaxWaitMs,
      logger: options.logger,
    });
  }
  return kafkajsSource({
    kafka: options.kafka,
    topic: options.topic,
    groupId: options.groupId,
    fromBeginning,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: heartbeatIntervalOf(options),
    fetchMinBytes,
    fetchMaxWaitMs,
    leaving,
  });
}

export function createConsumer(options: ConsumerOptions): RunningConsumer {
  const { kafka, topic, dlqTopic, groupId, sink, batchMaxEvents, batchMaxWaitMs, retryMaxBackoffMs } = options;
  const label = options.metricsLabel ?? sink.name;
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: 'consumer', consumer: label, groupId, topic });
  const metrics = consumerMetrics(options.registry);
  const backoff = { baseMs: Math.min(options.retryBaseBackoffMs ?? 100, retryMaxBackoffMs), maxMs: retryMaxBackoffMs };
  const maxBuffered = bufferLimit(batchMaxEvents);

  const protocol = options.groupProtocol ?? 'classic';
  /** Made in start() (the KIP-848 client loads only when chosen). */
  let source: GroupSource | undefined;
  // The dead-letter producer. Its partitioner named (kafkajs's v2 default, as before), so kafkajs
  // no longer warns at every start that its default changed in v2.0.0.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  const admin: Admin = kafka.admin();

  let buffer: Buffered[] = [];
  const book = new OffsetBook();
  const highWatermarks = new Map<number, string>();
  let assigned = new Set<number>();
  let joined = false;
  /**
   * The resume metric: when this member last joined (epoch ms), until the first commit after it,
   * and whether events were already waiting at the join (else that commit only says when traffic
   * came back, and is not counted).
   */
  let joinedAt: number | undefined;
  let waitingAtJoin = false;
  /** Where the first commit after a join spent its time (logged with it): first fetch, write, commit. */
  let resumeSteps: { firstFetchMs?: number; writeMs?: number; commitMs?: number } = {};
  let stopping = false;
  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  let loop: Promise<void> | undefined;

  const wake = new Signal(); // fetch side -> run loop: something was buffered (or stop)
  const room = new Signal(); // run loop -> fetch side: the buffer has room again (or stop)
  const interrupt = new Signal(); // stop() -> a backoff in progress
  const committedSignal = new Signal(); // a commit happened (whenCaughtUp polls sooner)

  const setLag = (partition: number, fallback: bigint) => {
    const hw = highWatermarks.get(partition);
    if (hw === undefined) return;
    metrics.lag.set(
      { consumer: label, topic, partition: String(partition) },
      partitionLag(hw, book.committedOffset(partition), fallback),
    );
  };

  async function onBatch(batch: FetchedBatch, { isRunning, isStale, keepAlive }: BatchControl) {
    if (stopping) return;
    const { partition } = batch;
    const first = batch.messages[0];
    if (batch.highWatermark !== undefined) {
      highWatermarks.set(partition, batch.highWatermark);
      setLag(partition, BigInt(first?.offset ?? batch.highWatermark));
    }
    const arrivedAt = performance.now();
    if (joinedAt !== undefined && first !== undefined) {
      if (Number(first.timestamp) < joinedAt) waitingAtJoin = true;
      resumeSteps.firstFetchMs ??= now() - joinedAt;
    }
    let sinceYield = 0;
    for (const message of batch.messages) {
      if (++sinceYield >= YIELD_EVERY_MESSAGES) {
        // Let I/O callbacks (the sink's database replies) run between slices of decoding.
        sinceYield = 0;
        await yieldToEventLoop();
        if (stopping) return; // stop() is draining: what was not buffered is simply not committed
        // A rebalance during the yield took the partition away: onJoin dropped what this batch
        // buffered so far (the new owner re-reads it from the commit). Taking the rest would mark
        // offsets as buffered that nobody holds, and should the partition come back, its re-fetch
        // would skip them as "already buffered": lost. Stop here instead.
        if (isStale() || !assigned.has(partition)) return;
      }
      if (!book.accept(partition, message.offset)) continue; // re-fetched after a rejoin: already buffered
      const step = decodeMessage(message.value);
      const producedAt = Number(message.timestamp);
      buffer.push(
        step.kind === 'ok'
          ? { partition, offset: message.offset, arrivedAt, producedAt, kind: 'ok', event: step.value, message }
          : { partition, offset: message.offset, arrivedAt, producedAt, kind: 'dlq', failure: step, message },
      );
    }
    wake.notify();
    // Backpressure: hold this fetch while the buffer is full (e.g. the sink is failing and being
    // retried). keepAlive keeps our membership (a classic heartbeat throws on a rebalance, which
    // kafkajs handles).
    while (buffer.length >= maxBuffered && !stopping && isRunning()) {
      await room.wait(1_000);
      await keepAlive();
    }
  }

  /** Retries `work` with backoff until it succeeds; false if stop() gave up on it. */
  async function withRetry(step: string, work: () => Promise<void>): Promise<boolean> {
    return (await retryUntilDecided(step, work, () => ({ kind: 'retry' }))) === 'ok';
  }

  /**
   * Retries `work` with backoff while `decide` says the failure is transient; returns 'ok', the
   * refusal `decide` saw (no retry: the same work would fail again), or 'gave_up' at shutdown.
   */
  async function retryUntilDecided(
    step: string,
    work: () => Promise<void>,
    decide: typeof decideOnWriteFailure,
  ): Promise<'ok' | 'gave_up' | Refusal> {
    for (let failures = 0; ; ) {
      const lastChance = stopping;
      const result = await attempt(work);
      if (result.kind === 'ok') return 'ok';
      const verdict = decide(result.error);
      if (verdict.kind === 'isolate') return { code: verdict.code, reason: verdict.reason };
      failures += 1;
      const decision = decideRetry(failures, lastChance, backoff);
      const error = describeError(result.error);
      if (decision.kind === 'give_up') {
        log.warn({ step, failures, error }, 'giving up at shutdown; the batch is left uncommitted and will be redelivered');
        return 'gave_up';
      }
      metrics.writeRetries.inc({ consumer: label, step });
      log.warn({ step, failures, retryInMs: decision.ms, error }, 'step failed; retrying with backoff');
      await interrupt.wait(decision.ms);
    }
  }

  type Parked = {
    readonly partition: number;
    readonly offset: string;
    readonly message: SourceMessage;
    readonly failure: { readonly reason: string; readonly reasonKind: DeadLetterKind };
    readonly extraHeaders?: Readonly<Record<string, string>>;
  };

  /** Publishes dead letters (retried like any step); false if stop() gave up on it. */
  async function deadLetter(parked: readonly Parked[]): Promise<boolean> {
    if (parked.length === 0) return true;
    const sent = await withRetry('dead-letter', async () => {
      const at = new Date(now());
      await producer.send({
        topic: dlqTopic,
        acks: -1,
        messages: parked.map((d) =>
          toDeadLetter(d.message, { topic, partition: d.partition, groupId }, d.failure, at, d.extraHeaders),
        ),
      });
    });
    if (!sent) return false;
    for (const d of parked) {
      metrics.deadLetters.inc({ consumer: label, reason_kind: d.failure.reasonKind });
      log.warn({ partition: d.partition, offset: d.offset, reason: d.failure.reason }, 'message dead-lettered');
    }
    return true;
  }

  type Written = { readonly refused: readonly RefusedEvent[]; readonly conflicts: WriteReport['conflicts'] };

  /**
   * Writes the events; when the store refuses the batch for what is in it, bisects it (bisect.ts)
   * so that everything the store takes is written. Returns the events it refused and the conflicts
   * the sink reported (indexes into `events`).
   */
  async function writeIsolatingRefusals(events: readonly SessionCompleted[]): Promise<'gave_up' | Written> {
    const conflicts: Array<WriteReport['conflicts'][number]> = [];
    const write = (slice: readonly SessionCompleted[], offset: number) =>
      retryUntilDecided('write', async () => {
        const report = await sink.write(slice);
        for (const c of report?.conflicts ?? []) conflicts.push({ index: c.index + offset, reason: c.reason });
      }, decideOnWriteFailure);
    const started = performance.now();
    const whole = await write(events, 0);
    if (whole === 'gave_up') return 'gave_up';
    if (whole === 'ok') {
      metrics.writeDuration.observe({ consumer: label }, (performance.now() - started) / 1000);
      return { refused: [], conflicts };
    }
    log.warn({ events: events.length, code: whole.code, reason: whole.reason }, 'the store refused the batch; bisecting it to find the events it refuses');
    let plan = startBisection(events.length, whole);
    for (let step = nextBisectStep(plan); step.kind === 'write'; step = nextBisectStep(plan)) {
      const outcome = await write(events.slice(step.slice.start, step.slice.end), step.slice.start);
      if (outcome === 'gave_up') return 'gave_up';
      plan = afterSlice(plan, outcome === 'ok' ? { kind: 'written' } : { kind: 'refused', ...outcome });
    }
    metrics.bisectWrites.inc({ consumer: label }, plan.writes);
    log.warn({ events: events.length, refused: plan.refused.length, writes: plan.writes }, 'bisection done: the rest is written');
    return { refused: plan.refused, conflicts };
  }

  async function processBatch(items: readonly Buffered[]): Promise<boolean> {
    const oks: Array<Extract<Buffered, { kind: 'ok' }>> = [];
    const dead: Parked[] = [];
    for (const item of items) {
      if (item.kind === 'ok') oks.push(item);
      else dead.push(item);
    }
    metrics.batchSize.observe({ consumer: label }, items.length);

    if (!(await deadLetter(dead))) return false;

    const events = oks.map((o) => o.event);
    let notWritten = 0; // refused by the store or a reused key's conflicting copy: dead-lettered instead
    if (events.length > 0) {
      const writeStarted = now();
      const written = await writeIsolatingRefusals(events);
      if (joinedAt !== undefined) resumeSteps.writeMs ??= now() - writeStarted;
      if (written === 'gave_up') return false;
      const parked = written.refused.map((r): Parked => {
        const item = oks[r.index]!;
        metrics.storeRejections.inc({ consumer: label, code: r.code });
        return {
          partition: item.partition,
          offset: item.offset,
          message: item.message,
          failure: { reason: r.reason, reasonKind: 'store_rejected' },
          extraHeaders: storeRejectionHeaders(r.code),
        };
      });
      for (const c of written.conflicts) {
        const item = oks[c.index]!;
        metrics.idempotencyConflicts.inc({ consumer: label });
        parked.push({ partition: item.partition, offset: item.offset, message: item.message, failure: { reason: c.reason, reasonKind: 'idempotency_conflict' } });
      }
      if (!(await deadLetter(parked))) return false;
      notWritten = parked.length;
    }

    const next = nextOffsets(items);
    const commitStarted = now();
    const committed = await withRetry('commit', async () => {
      // Only partitions we still own: after a rebalance the new owner re-reads from its commit.
      const offsets = [...next].filter(([p]) => assigned.has(p)).map(([partition, offset]) => ({ partition, offset }));
      if (offsets.length > 0) await source!.commit(offsets);
    });
    if (!committed) return false;

    const committedAt = now();
    for (const [partition, offset] of next) {
      if (!assigned.has(partition)) continue;
      book.markCommitted(partition, offset);
      setLag(partition, BigInt(offset));
    }
    if (joinedAt !== undefined) {
      const ms = committedAt - joinedAt;
      if (waitingAtJoin) {
        metrics.rebalanceResume.observe({ consumer: label }, ms / 1000);
        log.info({ resumeMs: ms, ...resumeSteps, commitMs: committedAt - commitStarted }, 'first commit since joining the group');
      }
      joinedAt = undefined;
      resumeSteps = {};
    }
    metrics.eventsWritten.inc({ consumer: label }, events.length - notWritten);
    const freshness = metrics.freshness.labels({ consumer: label }); // label lookup once per batch, not per event
    for (const e of events) freshness.observe(Math.max(0, committedAt - Date.parse(e.receivedAt)) / 1000);
    committedSignal.notify();
    return true;
  }

  async function runLoop(): Promise<void> {
    for (;;) {
      const oldest = buffer[0];
      const decision = decideFlush({
        buffered: buffer.length,
        oldestAgeMs: oldest === undefined ? 0 : oldestWaitMs(performance.now() - oldest.arrivedAt, now() - oldest.producedAt),
        maxEvents: batchMaxEvents,
        maxWaitMs: batchMaxWaitMs,
        draining: stopping,
      });
      if (decision.kind === 'idle') {
        if (stopping) return;
        await wake.wait(1_000);
        continue;
      }
      if (decision.kind === 'wait') {
        await wake.wait(decision.ms);
        continue;
      }
      const items = buffer.splice(0, decision.count);
      room.notify();
      const done = await processBatch(items);
      if (!done) {
        // Only stop() makes a step give up: drop the rest, it is redelivered after restart.
        buffer = [];
        return;
      }
    }
  }

  function onJoin(partitions: readonly number[]) {
    assigned = new Set(partitions);
    book.retainOnly(assigned);
    // Messages of partitions we lost are the new owner's now; it re-reads them from the commit.
    buffer = buffer.filter((b) => assigned.has(b.partition));
    for (const p of [...highWatermarks.keys()]) {
      if (!assigned.has(p)) {
        highWatermarks.delete(p);
        metrics.lag.remove({ consumer: label, topic, partition: String(p) });
      }
    }
    joined = true;
    joinedAt = partitions.length > 0 ? now() : undefined;
    waitingAtJoin = false;
    resumeSteps = {};
    log.info({ partitions, protocol }, 'joined the group');
  }

  /**
   * Runs the first batch's code before joining, on made-up events the sink does not keep
   * (rehearsal.ts): a new member's first real batch is what the partitions it takes over wait for.
   */
  async function rehearse(): Promise<void> {
    if (options.rehearsalEvents === 0) return;
    const started = performance.now();
    try {
      const events = rehearsalEvents(options.rehearsalEvents ?? REHEARSAL_EVENTS, now());
      await sink.rehearse?.(events);
      log.info({ events: events.length, ms: Math.round(performance.now() - started) }, 'rehearsed a batch before joining (nothing kept)');
    } catch (error) {
      log.warn({ error: describeError(error) }, 'the rehearsal before joining failed; the first batch runs cold');
    }
  }

  async function start(): Promise<void> {
    if (started) return started;
    started = (async () => {
      await producer.connect();
      await admin.connect();
      // The broker may not auto-create topics; a consumer that cannot dead-letter would stall.
      if (await ensureDeadLetterTopic(admin, { dlqTopic, retentionMs: options.dlqRetentionMs ?? DEFAULT_TOPIC_RETENTION_MS })) {
        log.info({ dlqTopic }, 'created the dead-letter topic');
      }
      // Be ready to write before taking partitions: a member that joins makes the whole group
      // rebalance, and partitions handed to it wait for its first write. Connecting the store here
      // takes that off the rebalance (issue 13). A store that is down does not stop the start:
      // the run loop retries the write as it would any other.
      await (sink.warm ?? sink.ping)?.call(sink).catch((error: unknown) => log.warn({ error: describeError(error) }, 'the store did not answer before joining; writes will retry'));
      await rehearse();
      source = await groupSourceOf(options, () => stopping);
      options.beforeJoin?.();
      log.info({ protocol }, 'connected to the broker and the store; joining the group');
      await source.start({
        onAssigned: onJoin,
        onUnassigned: () => {
          joined = false;
        },
        onBatch,
        onCrash: (error, restart) => {
          // A crash the client restarts from (a broker or coordinator gone for a few seconds;
          // CONSUMER_RETRY) is routine in a cluster: warn. One it does not restart from stops
          // this member's consuming: error (main.ts exits so the supervisor restarts the process).
          if (restart) log.warn({ error: describeError(error), restart }, 'kafka consumer crashed; the client restarts itself');
          else log.error({ error: describeError(error), restart }, 'kafka consumer crashed');
          options.onCrash?.(error, restart);
        },
      });
      loop = runLoop().catch((error: unknown) => {
        // Not expected (every step is retried); log loudly rather than lose it silently.
        log.fatal({ error: describeError(error) }, 'consumer run loop failed');
        options.onCrash?.(error, false);
      });
    })();
    return started;
  }

  async function stop(): Promise<void> {
    if (stopped) return stopped;
    stopped = (async () => {
      try {
        await started;
      } catch {
        // start failed half-way: still disconnect whatever did connect
      }
      stopping = true;
      source?.pause();
      wake.notify();
      room.notify();
      interrupt.notify();
      await loop; // drains the buffer with one last attempt per step, and commits
      await Promise.allSettled([source?.stop(), producer.disconnect(), admin.disconnect()]);
      joined = false;
      log.info('consumer stopped');
    })();
    return stopped;
  }

  async function whenCaughtUp(timeoutMs = DEFAULT_CAUGHT_UP_TIMEOUT_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const targets: WatermarkRange[] = (await admin.fetchTopicOffsets(topic)).map((o) => ({
      partition: o.partition,
      high: o.high,
      low: o.low,
    }));
    let committed = new Map<number, string>();
    while (performance.now() < deadline) {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
      if (isCaughtUp(targets, committed)) return;
      await committedSignal.wait(Math.min(200, Math.max(0, deadline - performance.now())));
    }
    throw new AppError('INTERNAL', `consumer ${label} did not catch up with ${topic} within ${timeoutMs} ms`, {
      details: { targets, committed: Object.fromEntries(committed) },
    });
  }

  return { start, stop, whenCaughtUp, isJoined: () => joined && !stopping };
}
