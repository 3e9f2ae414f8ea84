/**
 * Two timers of kafkajs 2.2.4's per-connection RequestQueue, fixed in place (issue 11: they were
 * most of what the API and both consumers cost with nothing to do, and a share of every event's
 * cost under ordinary load). kafkajs is in maintenance mode and the fixes are unreleased
 * (tulios/kafkajs#1556, #1704, #1751; PRs #1667 and #1768 open), so the patch lives here, in the
 * one module that makes kafkajs clients, and is applied once per process.
 *
 * 1. `scheduleCheckPendingRequests` re-arms a timer after every check, even with nothing pending
 *    and no throttle: the delay is `throttledUntil (-1) - Date.now()`, a large negative number
 *    that runtimes clamp to 1 ms (the "TimeoutNegativeWarning" Bun and Node print). Every
 *    connection thus ran a 1 ms timer loop forever, about 1,000 wake-ups a second each. Patched:
 *    with nothing pending and no throttle in force there is nothing to check, so no timer; a
 *    request that has to wait is pushed to `pending` and schedules its own check, as before.
 * 2. `scheduleRequestTimeoutCheck` scans in-flight requests for their `requestTimeout` (10 s here)
 *    every min(requestTimeout, 100) ms, ten wake-ups a second per connection. A 1 s scan enforces
 *    the same timeout to within a second.
 */
import RequestQueue from 'kafkajs/src/network/requestQueue/index.js';

/** How often in-flight requests are checked against their timeout (kafkajs: every 100 ms). */
export const REQUEST_TIMEOUT_SCAN_MS = 1_000;

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  requestTimeoutIntervalId: ReturnType<typeof setInterval> | undefined;
  inflight: Map<unknown, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  isConnected(): boolean;
  destroy(): void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
}

let applied = false;

export function patchKafkajsRequestQueue(): void {
  if (applied) return;
  applied = true;
  const proto = (RequestQueue as unknown as { prototype: RequestQueueInternals }).prototype;
  const originalSchedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return; // one is already scheduled
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return; // nothing to do
    originalSchedule.call(this);
  };
  proto.scheduleRequestTimeoutCheck = function (this: RequestQueueInternals) {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this.requestTimeoutIntervalId = setInterval(() => {
      this.inflight.forEach((request) => {
        if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
      });
      if (!this.isConnected()) this.destroy();
    }, Math.min(this.requestTimeout, REQUEST_TIMEOUT_SCAN_MS));
  };
}

/** Whether the patch is in place (for the test that guards it against a kafkajs upgrade). */
export function kafkajsRequestQueuePatched(): boolean {
  return applied;
}
