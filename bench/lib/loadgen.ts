/**
 * A small, bounded load generator for traffic oha cannot send (a different body, header and
 * route per request) and for answers oha does not keep (the event id of every 202).
 *
 * `concurrency` loops share one schedule: request i is due at start + i / rate. A loop takes the
 * next due slot, sleeps until then, sends, and waits for the answer, so at most `concurrency`
 * requests are in flight. Latency is measured from the slot's due time (corrected for
 * coordinated omission, as oha's --latency-correction does), and the service time from the
 * actual send is kept too. When the server is slower than the schedule allows, the loops fall
 * behind (late requests are sent late, their wait counted); slots still unsent at the end of the
 * run are dropped and reported as missed.
 *
 * Bounded: no slot is due after `durationMs`; every request has a timeout; the whole run ends by
 * warmup + duration + requestTimeout.
 */

export interface HttpRequestPlan {
  readonly path: string;
  readonly method?: 'POST' | 'GET';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface LoadgenOptions<P extends HttpRequestPlan> {
  readonly baseUrl: string;
  readonly concurrency: number;
  readonly ratePerSec: number;
  /** Measured part of the run. */
  readonly durationMs: number;
  /** Sent at the same rate before the measured part; answers kept but flagged `warmup`. */
  readonly warmupMs?: number;
  readonly requestTimeoutMs?: number;
  readonly next: () => P;
}

export interface Sent<P> {
  readonly plan: P;
  readonly warmup: boolean;
  /** HTTP status, or 0 when the request failed in transport (refused, reset, timed out). */
  readonly status: number;
  /** From the slot's due time (or the send, if that came first) to the end of the answer. */
  readonly latencyMs: number;
  /** From the actual send to the end of the answer. */
  readonly serviceMs: number;
  /** Parsed JSON body of a 2xx answer (undefined otherwise, or if it did not parse). */
  readonly json?: unknown;
  readonly error?: string;
}

export interface LoadgenRun<P> {
  readonly sent: Array<Sent<P>>;
  /** Slots of the measured part that were due but never sent (the loops were all busy). */
  readonly missedSlots: number;
  readonly plannedSlots: number;
  /** Wall time of the measured part, from its first due slot to the last answer. */
  readonly measuredSeconds: number;
}

export async function runLoadgen<P extends HttpRequestPlan>(options: LoadgenOptions<P>): Promise<LoadgenRun<P>> {
  const { baseUrl, concurrency, ratePerSec, durationMs } = options;
  if (!(ratePerSec > 0) || !(concurrency >= 1) || !(durationMs > 0)) throw new RangeError('rate, concurrency and duration must be positive');
  const warmupMs = options.warmupMs ?? 0;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const intervalMs = 1000 / ratePerSec;
  const totalMs = warmupMs + durationMs;
  const start = performance.now() + 20;
  const measuredFrom = start + warmupMs;
  const sent: Array<Sent<P>> = [];
  let slot = 0;
  let lastAnswer = measuredFrom;

  const loop = async () => {
    for (;;) {
      const i = slot++;
      const offset = i * intervalMs;
      if (offset >= totalMs) return;
      const due = start + offset;
      // Past the end of the run, slots still waiting are not sent late: they count as missed.
      if (performance.now() > start + totalMs) return;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const plan = options.next();
      const sentAt = performance.now();
      let status = 0;
      let json: unknown;
      let error: string | undefined;
      try {
        const res = await fetch(`${baseUrl}${plan.path}`, {
          method: plan.method ?? 'POST',
          headers: plan.headers,
          ...(plan.body === undefined ? {} : { body: plan.body }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        const text = await res.text();
        if (status >= 200 && status < 300) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
      } catch (e) {
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      const end = performance.now();
      if (due >= measuredFrom) lastAnswer = Math.max(lastAnswer, end);
      sent.push({
        plan,
        warmup: due < measuredFrom,
        status,
        // Sent late (all loops were busy): from the due time. Sent early (a timer may wake a
        // little before its time): from the actual send.
        latencyMs: end - Math.min(due, sentAt),
        serviceMs: end - sentAt,
        ...(json === undefined ? {} : { json }),
        ...(error === undefined ? {} : { error }),
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const plannedSlots = Math.ceil(durationMs / intervalMs);
  const measuredSent = sent.filter((s) => !s.warmup).length;
  return {
    sent,
    plannedSlots,
    missedSlots: Math.max(0, plannedSlots - measuredSent),
    measuredSeconds: (lastAnswer - measuredFrom) / 1000,
  };
}
