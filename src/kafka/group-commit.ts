/**
 * Group commit for the write path: requests that arrive within a short window share one
 * `sendBatch`, and each request's promise settles when its batch is acknowledged (acks=all).
 *
 * Why: one broker round trip per HTTP request caps a kafkajs producer at a few thousand
 * messages a second; one round trip per few hundred requests does not.
 *
 * Guarantees:
 * - `append` resolves only after the transport acknowledged the batch holding the message.
 * - Bounded memory: pending messages (queued + in flight) are capped in count and bytes; past
 *   the cap `append` rejects at once with OVERLOADED.
 * - Bounded waiting: a message not acknowledged within `ackTimeoutMs` of its append is
 *   rejected with BROKER_TIMEOUT. If it was never sent it is dropped from the queue; if it was
 *   in flight it may still land on the topic later (the client retries with the same
 *   Idempotency-Key and consumers dedupe by event id). A rejection never becomes a 202.
 * - Fast refusal while the broker is unreachable: once a batch failed or outlived the ack
 *   timeout, and until a batch is acknowledged again, a request that would only queue behind
 *   the stuck batch is refused at once with BROKER_UNAVAILABLE instead of being held for the
 *   whole ack timeout. The batch in flight (kafkajs retries it) is the probe. Why (issue 14):
 *   at 2,000 req/s a 25 s broker outage kept ~4,000 requests and their connections open in the
 *   API at any moment, and its RSS grew past 230 MB; answered at once, they cost nothing.
 *
 * The transport is a port (see `BatchTransport`) so this logic is unit-tested without a broker;
 * the kafkajs adapter lives in ./producer.ts.
 */
import { AppError } from '../kernel/errors.ts';
import type { EventMessage } from '../kernel/events/session-completed.ts';

export interface BatchTransport {
  /** Writes all messages durably (acks=all) or throws. */
  sendBatch(messages: readonly EventMessage[]): Promise<void>;
}

export interface GroupCommitOptions {
  readonly lingerMs: number;
  readonly maxBatchEvents: number;
  readonly maxInFlightBatches: number;
  readonly maxBufferEvents: number;
  readonly maxBufferBytes: number;
  readonly ackTimeoutMs: number;
  /** Retry-After (s) advised when refusing; the outage's advice starts here (default 1). */
  readonly retryAfterSeconds?: number;
  /** While the broker is down, Retry-After grows by 1 s per this many ms of outage (0/absent: never). */
  readonly retryAfterStepMs?: number;
  /** The most Retry-After grows to while the broker is down. */
  readonly maxRetryAfterSeconds?: number;
}

/** Hooks for metrics; all optional so tests can ignore them. */
export interface GroupCommitObserver {
  batchSent?(events: number, bytes: number): void;
  batchAcked?(events: number, seconds: number): void;
  batchFailed?(events: number, error: unknown): void;
  rejected?(reason: 'overloaded' | 'timeout' | 'shutting_down' | 'broker_down'): void;
}

interface Pending {
  readonly message: EventMessage;
  readonly bytes: number;
  readonly deadline: number;
  settled: boolean;
  resolve(): void;
  reject(error: AppError): void;
}

interface InFlight {
  readonly items: Pending[];
}

const messageBytes = (m: EventMessage): number => {
  let n = m.key.length + m.value.length;
  for (const k in m.headers) n += k.length + (m.headers[k]?.length ?? 0);
  return n;
};

export class GroupCommitProducer {
  #queue: Pending[] = [];
  #inFlight = new Set<InFlight>();
  #pendingEvents = 0;
  #pendingBytes = 0;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  readonly #sweepEveryMs: number;
  #closed = false;
  /** A batch failed or outlived the ack timeout, and none has been acknowledged since. */
  #brokerDown = false;
  #brokerDownSince: number | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(
    private readonly transport: BatchTransport,
    private readonly options: GroupCommitOptions,
    private readonly observer: GroupCommitObserver = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    // One timer for all deadlines instead of one per request, running only while something is
    // pending: an idle API wakes for nothing (issue 11's idle budget).
    this.#sweepEveryMs = Math.max(5, Math.min(100, Math.floor(options.ackTimeoutMs / 10)));
  }

  /** Whether the deadline sweeper is running (it runs only while messages are pending). */
  get sweeping(): boolean {
    return this.#sweeper !== undefined;
  }

  /** Messages and bytes accepted but not yet acknowledged or rejected. */
  get depth(): { events: number; bytes: number; inFlightBatches: number } {
    return { events: this.#pendingEvents, bytes: this.#pendingBytes, inFlightBatches: this.#inFlight.size };
  }

  /**
   * Why `append` would refuse any message right now, else undefined: shutting down, or the broker
   * down with every in-flight slot held by the batch that probes it. The write routes ask before
   * they read a body, so while the broker is down a refusal costs no parsing or validation: at
   * 2,000 req/s with clients retrying, refusals are most of what the API does (issue 14).
   *
   * While the broker stays down, the Retry-After it advises grows by a second for every
   * `retryAfterStepMs` of the outage, up to `maxRetryAfterSeconds`: clients that honour it thin
   * their retries out instead of multiplying the load. New requests are not delayed by it: the
   * first batch acknowledged ends the outage for everyone.
   */
  refusal(): AppError | undefined {
    if (this.#closed) return new AppError('SHUTTING_DOWN', 'The service is shutting down; retry on another instance.');
    if (this.#brokerDown && this.#inFlight.size >= this.options.maxInFlightBatches) return this.brokerDownError();
    return undefined;
  }

  /** The refusal while the broker is down, with the outage's Retry-After. */
  private brokerDownError(): AppError {
    return new AppError('BROKER_UNAVAILABLE', 'The event broker is not reachable (its last batch failed or is overdue). Retry later.', {
      details: { retryAfterSeconds: this.outageRetryAfterSeconds() },
    });
  }

  /** The Retry-After advised while the broker is down (see `refusal`). */
  private outageRetryAfterSeconds(): number {
    const step = this.options.retryAfterStepMs ?? 0;
    const base = this.options.retryAfterSeconds ?? 1;
    if (step <= 0 || this.#brokerDownSince === undefined) return base;
    const grown = base + Math.floor((this.now() - this.#brokerDownSince) / step);
    return Math.min(Math.max(base, this.options.maxRetryAfterSeconds ?? base), grown);
  }

  private markBrokerDown(): void {
    if (!this.#brokerDown) this.#brokerDownSince = this.now();
    this.#brokerDown = true;
  }

  /** Resolves when the message is durably on the topic; rejects with a retriable AppError. */
  append(message: EventMessage): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) {
      this.observer.rejected?.(refused.code === 'SHUTTING_DOWN' ? 'shutting_down' : 'broker_down');
      return Promise.reject(refused);
    }
    const bytes = messageBytes(message);
    if (
      this.#pendingEvents + 1 > this.options.maxBufferEvents ||
      this.#pendingBytes + bytes > this.options.maxBufferBytes
    ) {
      this.observer.rejected?.('overloaded');
      return Promise.reject(
        new AppError('OVERLOADED', 'The write buffer is full: the broker is not keeping up. Retry later.', {
          details: { pendingEvents: this.#pendingEvents, pendingBytes: this.#pendingBytes },
        }),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ message, bytes, deadline: this.now() + this.options.ackTimeoutMs, settled: false, resolve, reject });
      this.#pendingEvents += 1;
      this.#pendingBytes += bytes;
      if (this.#sweeper === undefined) {
        this.#sweeper = setInterval(() => this.sweep(), this.#sweepEveryMs);
        this.#sweeper.unref?.();
      }
      this.schedule();
    });
  }

  /**
   * Stops taking messages, sends what is queued, and waits for every pending message to be
   * settled (acknowledged, or rejected by its deadline). Bounded by the ack timeout.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.flush();
    if (this.#pendingEvents > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.stopSweeper();
    if (this.#lingerTimer) clearTimeout(this.#lingerTimer);
  }

  private schedule(): void {
    if (this.#inFlight.size >= this.options.maxInFlightBatches) return; // the ack will flush
    if (this.#queue.length >= this.options.maxBatchEvents || this.options.lingerMs === 0) {
      this.flush();
      return;
    }
    this.#lingerTimer ??= setTimeout(() => {
      this.#lingerTimer = undefined;
      this.flush();
    }, this.options.lingerMs);
  }

  /** Sends queued messages in batches while in-flight slots are free. */
  private flush(): void {
    if (this.#lingerTimer) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
    }
    while (this.#queue.length > 0 && this.#inFlight.size < this.options.maxInFlightBatches) {
      const items = this.#queue.splice(0, this.options.maxBatchEvents).filter((p) => !p.settled);
      if (items.length > 0) void this.send({ items });
    }
  }

  private async send(batch: InFlight): Promise<void> {
    this.#inFlight.add(batch);
    const started = this.now();
    let bytes = 0;
    const messages = batch.items.map((p) => {
      bytes += p.bytes;
      return p.message;
    });
    this.observer.batchSent?.(messages.length, bytes);
    try {
      await this.transport.sendBatch(messages);
      this.#brokerDown = false;
      this.#brokerDownSince = undefined;
      this.observer.batchAcked?.(messages.length, (this.now() - started) / 1000);
      for (const p of batch.items) this.settle(p, undefined);
    } catch (cause) {
      this.markBrokerDown();
      this.observer.batchFailed?.(messages.length, cause);
      const error =
        cause instanceof AppError
          ? cause
          : new AppError('BROKER_UNAVAILABLE', 'The event broker did not accept the write. Retry later.', { cause });
      for (const p of batch.items) this.settle(p, error);
    } finally {
      this.#inFlight.delete(batch);
      if (this.#queue.length > 0) {
        // Whatever queued while this batch was in flight has waited at least one round trip.
        this.flush();
      }
    }
  }

  /** Rejects messages whose deadline passed, queued or in flight. */
  private sweep(): void {
    const now = this.now();
    let expired = false;
    for (const p of this.#queue) {
      if (!p.settled && p.deadline <= now) {
        this.timeout(p);
        expired = true;
      }
    }
    if (expired) this.#queue = this.#queue.filter((p) => !p.settled);
    for (const batch of this.#inFlight) {
      for (const p of batch.items) {
        if (!p.settled && p.deadline <= now) {
          this.markBrokerDown(); // overdue in flight: later requests would only queue behind it
          this.timeout(p);
        }
      }
    }
    if (this.#brokerDown) {
      // Whatever queued behind the stuck batch would wait out its deadline: refuse it now.
      const refused = this.brokerDownError();
      for (const p of this.#queue) if (!p.settled) this.settle(p, refused);
      this.#queue = [];
    }
  }

  private stopSweeper(): void {
    if (this.#sweeper === undefined) return;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  private timeout(p: Pending): void {
    this.observer.rejected?.('timeout');
    this.settle(
      p,
      new AppError('BROKER_TIMEOUT', `The event broker did not acknowledge within ${this.options.ackTimeoutMs} ms. Retry later.`),
    );
  }

  private settle(p: Pending, error: AppError | undefined): void {
    if (p.settled) return;
    p.settled = true;
    this.#pendingEvents -= 1;
    this.#pendingBytes -= p.bytes;
    if (error) p.reject(error);
    else p.resolve();
    if (this.#pendingEvents === 0) this.stopSweeper();
    if (this.#pendingEvents === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
