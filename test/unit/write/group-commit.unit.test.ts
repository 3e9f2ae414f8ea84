import { describe, expect, test } from 'bun:test';
import { AppError } from '../../../src/kernel/errors.ts';
import type { EventMessage } from '../../../src/kernel/events/session-completed.ts';
import { type BatchTransport, GroupCommitProducer, type GroupCommitOptions } from '../../../src/kafka/group-commit.ts';

const msg = (i: number, size = 10): EventMessage => ({ key: `k${i}`, value: 'x'.repeat(size), headers: {} });

const options = (o: Partial<GroupCommitOptions> = {}): GroupCommitOptions => ({
  lingerMs: 5,
  maxBatchEvents: 100,
  maxInFlightBatches: 1,
  maxBufferEvents: 1_000,
  maxBufferBytes: 1_000_000,
  ackTimeoutMs: 2_000,
  ...o,
});

/** A transport whose batches the test acknowledges or fails by hand. */
class ManualTransport implements BatchTransport {
  batches: Array<{ messages: readonly EventMessage[]; ack: () => void; fail: (e: unknown) => void }> = [];
  sendBatch(messages: readonly EventMessage[]): Promise<void> {
    return new Promise((ack, fail) => this.batches.push({ messages, ack: () => ack(), fail }));
  }
}

const settled = async <T>(p: Promise<T>) => {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let reason: unknown;
  p.then(
    () => (state = 'resolved'),
    (e) => {
      state = 'rejected';
      reason = e;
    },
  );
  await Bun.sleep(0);
  return () => ({ state, reason });
};

const until = async (cond: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await Bun.sleep(1);
  }
};

describe('GroupCommitProducer', () => {
  test('requests within the linger window share one batch and resolve only on ack', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options());
    const appends = [0, 1, 2].map((i) => p.append(msg(i)));
    const states = await Promise.all(appends.map(settled));
    await until(() => t.batches.length === 1);
    expect(t.batches[0]?.messages.map((m) => m.key)).toEqual(['k0', 'k1', 'k2']);
    expect(states.map((s) => s().state)).toEqual(['pending', 'pending', 'pending']);
    t.batches[0]?.ack();
    await Promise.all(appends);
    expect(p.depth.events).toBe(0);
    await p.close();
  });

  test('the deadline sweeper runs only while something is pending (an idle API wakes for nothing)', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ lingerMs: 0, ackTimeoutMs: 50 }));
    expect(p.sweeping).toBe(false);
    const first = p.append(msg(0));
    expect(p.sweeping).toBe(true);
    await until(() => t.batches.length === 1);
    t.batches[0]?.ack();
    await first;
    expect(p.sweeping).toBe(false);
    // It comes back for the next request, and still enforces the deadline.
    const second = p.append(msg(1)).catch((e: unknown) => e);
    expect(p.sweeping).toBe(true);
    expect(((await second) as AppError).code).toBe('BROKER_TIMEOUT');
    expect(p.sweeping).toBe(false);
    await p.close();
  });

  test('a full batch is sent without waiting for the linger timer', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ lingerMs: 10_000, maxBatchEvents: 3 }));
    const appends = [0, 1, 2].map((i) => p.append(msg(i)));
    await until(() => t.batches.length === 1);
    t.batches[0]?.ack();
    await Promise.all(appends);
    await p.close();
  });

  test('while a batch is in flight, later requests queue and go in the next batch', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ lingerMs: 0 }));
    const first = p.append(msg(0));
    await until(() => t.batches.length === 1);
    const later = [1, 2, 3].map((i) => p.append(msg(i)));
    await Bun.sleep(5);
    expect(t.batches.length).toBe(1);
    t.batches[0]?.ack();
    await first;
    await until(() => t.batches.length === 2);
    expect(t.batches[1]?.messages.map((m) => m.key)).toEqual(['k1', 'k2', 'k3']);
    t.batches[1]?.ack();
    await Promise.all(later);
    await p.close();
  });

  test('a failed batch rejects every request in it with a retriable BROKER_UNAVAILABLE', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options());
    const appends = [0, 1].map((i) => p.append(msg(i)));
    await until(() => t.batches.length === 1);
    t.batches[0]?.fail(new Error('leader not available'));
    for (const a of appends) {
      const error = await a.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('BROKER_UNAVAILABLE');
      expect((error as AppError).retriable).toBe(true);
    }
    expect(p.depth.events).toBe(0);
    await p.close();
  });

  test('the buffer is bounded in events and bytes: past it, append rejects at once with OVERLOADED', async () => {
    const t = new ManualTransport();
    const byCount = new GroupCommitProducer(t, options({ maxBufferEvents: 2, lingerMs: 1_000 }));
    const ok = [byCount.append(msg(0)), byCount.append(msg(1))];
    const over = await byCount.append(msg(2)).then(() => undefined, (e: AppError) => e.code);
    expect(over).toBe('OVERLOADED');
    const byBytes = new GroupCommitProducer(t, options({ maxBufferBytes: 50, lingerMs: 1_000 }));
    const fits = byBytes.append(msg(0, 40));
    const tooBig = await byBytes.append(msg(1, 40)).then(() => undefined, (e: AppError) => e.code);
    expect(tooBig).toBe('OVERLOADED');
    void byCount.close();
    void byBytes.close();
    for (const b of t.batches) b.ack();
    await until(() => t.batches.length === 2);
    for (const b of t.batches) b.ack();
    await Promise.all([...ok, fits]);
  });

  test('a batch the broker never acknowledges is rejected with BROKER_TIMEOUT by its deadline, and queued requests too', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ ackTimeoutMs: 60, lingerMs: 0 }));
    const started = performance.now();
    const inFlight = p.append(msg(0));
    await until(() => t.batches.length === 1);
    const queued = p.append(msg(1)); // waits behind the stuck batch
    const codes = await Promise.all(
      [inFlight, queued].map((a) => a.then(() => 'ok', (e: AppError) => e.code)),
    );
    const elapsed = performance.now() - started;
    expect(codes[0]).toBe('BROKER_TIMEOUT');
    // The queued request is refused with a retriable 503 either by its own deadline or, once the
    // batch ahead is overdue, at once as BROKER_UNAVAILABLE (8bfb365: the stuck batch is the probe).
    expect(['BROKER_TIMEOUT', 'BROKER_UNAVAILABLE']).toContain(codes[1] ?? 'missing');
    expect(elapsed).toBeLessThan(2_000); // bounded: rejected near the 60 ms deadline, not hung
    expect(p.depth.events).toBe(0);
    // The queued one was never sent: it must not reach the transport later.
    t.batches[0]?.ack();
    await Bun.sleep(10);
    expect(t.batches.length).toBe(1);
    await p.close();
  });

  test('while a batch is stuck past its deadline, new requests are refused at once (BROKER_UNAVAILABLE) until a batch is acknowledged', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ lingerMs: 0, ackTimeoutMs: 50 }));
    const stuck = p.append(msg(0)).catch((e: unknown) => e);
    await until(() => t.batches.length === 1);
    // Before the deadline, a request queues behind the batch in flight, as usual.
    await Bun.sleep(25);
    const queued = p.append(msg(1)).catch((e: unknown) => e);
    expect(((await stuck) as AppError).code).toBe('BROKER_TIMEOUT');
    // The queued request would only wait out its own deadline behind the stuck batch: refused now.
    expect(((await queued) as AppError).code).toBe('BROKER_UNAVAILABLE');
    const t0 = performance.now();
    const refused = await p.append(msg(2)).catch((e: unknown) => e);
    expect((refused as AppError).code).toBe('BROKER_UNAVAILABLE');
    expect(performance.now() - t0).toBeLessThan(20); // at once, not after the ack timeout
    expect(p.depth.events).toBe(0); // nothing held for them
    // The broker answers the stuck batch (kafkajs retried it): requests are taken again.
    t.batches[0]?.ack();
    await until(() => p.depth.inFlightBatches === 0);
    const next = p.append(msg(3));
    await until(() => t.batches.length === 2);
    t.batches[1]?.ack();
    await next;
    await p.close();
  });

  test('after a failed batch, the next request is the probe: sent, not refused', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ lingerMs: 0 }));
    const first = p.append(msg(0)).catch((e: unknown) => e);
    await until(() => t.batches.length === 1);
    t.batches[0]?.fail(new Error('connection refused'));
    expect(((await first) as AppError).code).toBe('BROKER_UNAVAILABLE');
    const probe = p.append(msg(1));
    await until(() => t.batches.length === 2);
    expect(((await p.append(msg(2)).catch((e: unknown) => e)) as AppError).code).toBe('BROKER_UNAVAILABLE'); // behind the probe
    t.batches[1]?.ack();
    await probe;
    await p.close();
  });

  test('refusal() names the standing refusal, and its Retry-After grows with the outage up to the cap', async () => {
    const t = new ManualTransport();
    let clock = 0;
    const p = new GroupCommitProducer(
      t,
      options({ lingerMs: 0, retryAfterSeconds: 1, retryAfterStepMs: 5_000, maxRetryAfterSeconds: 4 }),
      {},
      () => clock,
    );
    expect(p.refusal()).toBeUndefined();
    const first = p.append(msg(0)).catch((e: unknown) => e);
    await until(() => t.batches.length === 1);
    t.batches[0]?.fail(new Error('connection refused')); // the outage starts at clock 0
    await first;
    expect(p.refusal()).toBeUndefined(); // a slot is free: the next request is the probe
    const probe = p.append(msg(1)).catch((e: unknown) => e);
    await until(() => t.batches.length === 2);
    const advised = (): unknown => p.refusal()?.details?.['retryAfterSeconds'];
    expect(p.refusal()?.code).toBe('BROKER_UNAVAILABLE');
    expect(advised()).toBe(1);
    clock = 4_999;
    expect(advised()).toBe(1);
    clock = 5_000;
    expect(advised()).toBe(2);
    clock = 12_000;
    expect(advised()).toBe(3);
    clock = 60_000;
    expect(advised()).toBe(4); // capped
    const refused = (await p.append(msg(2)).catch((e: unknown) => e)) as AppError;
    expect(refused.details?.['retryAfterSeconds']).toBe(4); // append refuses with the same advice
    // The probe is acknowledged: the outage is over, and a later one starts from 1 s again.
    t.batches[1]?.ack();
    await probe;
    expect(p.refusal()).toBeUndefined();
    const third = p.append(msg(3)).catch((e: unknown) => e);
    await until(() => t.batches.length === 3);
    t.batches[2]?.fail(new Error('connection refused'));
    await third;
    const probe2 = p.append(msg(4)).catch((e: unknown) => e);
    await until(() => t.batches.length === 4);
    expect(advised()).toBe(1);
    t.batches[3]?.ack();
    await probe2;
    await p.close();
    expect(p.refusal()?.code).toBe('SHUTTING_DOWN');
  });

  test('without a step the outage advises the base Retry-After throughout', async () => {
    const t = new ManualTransport();
    let clock = 0;
    const p = new GroupCommitProducer(t, options({ lingerMs: 0, retryAfterSeconds: 2 }), {}, () => clock);
    const first = p.append(msg(0)).catch((e: unknown) => e);
    await until(() => t.batches.length === 1);
    t.batches[0]?.fail(new Error('down'));
    await first;
    const probe = p.append(msg(1)).catch((e: unknown) => e);
    await until(() => t.batches.length === 2);
    clock = 100_000;
    expect(p.refusal()?.details?.['retryAfterSeconds']).toBe(2);
    t.batches[1]?.ack();
    await probe;
    await p.close();
  });

  test('close flushes what is queued, waits for acks, then refuses new appends', async () => {
    const t = new ManualTransport();
    const p = new GroupCommitProducer(t, options({ lingerMs: 10_000 }));
    const pending = [0, 1].map((i) => p.append(msg(i)));
    const closing = p.close();
    await until(() => t.batches.length === 1);
    t.batches[0]?.ack();
    await closing;
    await Promise.all(pending);
    const after = await p.append(msg(9)).then(() => 'ok', (e: AppError) => e.code);
    expect(after).toBe('SHUTTING_DOWN');
  });
});
