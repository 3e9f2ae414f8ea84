import { expect, test } from 'bun:test';
import RequestQueue from 'kafkajs/src/network/requestQueue/index.js';
import { REQUEST_TIMEOUT_SCAN_MS, patchKafkajsRequestQueue } from '../../../src/kernel/kafka/request-queue-patch.ts';

// kafkajs's RequestQueue, driven directly: no broker needed to see which timers it arms.
type Queue = {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  requestTimeoutIntervalId: unknown;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  destroy(): void;
};
const logger = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => logger };
const makeQueue = () =>
  new (RequestQueue as unknown as new (o: object) => Queue)({ maxInFlightRequests: 1, requestTimeout: 10_000, enforceRequestTimeout: true, clientId: 't', broker: 'b', logger });

test('patched kafkajs RequestQueue arms no timer with nothing pending, and still checks when something waits or a throttle is on', () => {
  patchKafkajsRequestQueue();
  patchKafkajsRequestQueue(); // idempotent
  const q = makeQueue();
  // What ran after every request: a check that, unpatched, re-armed a 1 ms timer forever.
  q.checkPendingRequests();
  expect(q.throttleCheckTimeoutId).toBeNull();

  q.pending.push({ fake: true });
  q.scheduleCheckPendingRequests();
  expect(q.throttleCheckTimeoutId).not.toBeNull();
  q.destroy();
  q.pending.length = 0;

  q.throttledUntil = Date.now() + 5_000; // a broker throttle in force: wake when it ends
  q.scheduleCheckPendingRequests();
  expect(q.throttleCheckTimeoutId).not.toBeNull();
  q.destroy();
});

test('patched kafkajs RequestQueue scans in-flight requests for timeouts once a second, not every 100 ms', () => {
  patchKafkajsRequestQueue();
  const q = makeQueue();
  const seen: number[] = [];
  const real = globalThis.setInterval;
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    seen.push(ms);
    return real(fn, ms);
  }) as typeof setInterval;
  try {
    q.scheduleRequestTimeoutCheck();
  } finally {
    globalThis.setInterval = real;
  }
  expect(seen).toEqual([REQUEST_TIMEOUT_SCAN_MS]);
  expect(q.requestTimeoutIntervalId).toBeDefined();
  q.destroy();
});
