/**
 * The load loop of the fault harness, run as its own process (`bun load-worker.ts`) so its HTTP
 * client can hold thousands of requests open (Bun's fetch allows 256 at once unless
 * BUN_CONFIG_MAX_HTTP_REQUESTS is raised at process start; the parent sets it).
 *
 * Open loop: it starts `rate` logical requests a second, each a completion of a new session with
 * its own Idempotency-Key, to loopback only. Closed loop instead when `concurrency` is given
 * (that many requests always open, each sent when one ends): how the harness measures what the
 * machine sustains before it picks the rate. A 503 is retried (same key, after Retry-After) up to
 * `retries` times, as a well-behaved client would; every attempt is recorded, one JSON line each,
 * in `out`: phase, request number, attempt, status (0 = no answer by the client deadline,
 * -1 = connection error), Retry-After, problem code, event id of a 202, latency.
 *
 * Bookkeeping: request n is session `<runId>-<n>`, and n counts up from 0 as requests are sent,
 * so the summary's `started` names every request sent; `phases` says from which n each phase
 * began. The report accounts for every n below `started`, whether or not its answer was written.
 *
 * Bounded: it stops on "stop" (stdin), at `maxDurationMs`, or after `maxRequests`, whichever
 * comes first; when `maxInFlight` requests are open it skips (and counts) instead of queueing.
 * stdin commands: `phase <name>` tags the requests started from then on; `stop` ends the run
 * (open requests finish first). The last stdout line is the JSON summary.
 */
import { z } from 'zod';

export const LoadOptions = z.object({
  url: z.url().refine((u) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname), 'loopback only'),
  runId: z.string().regex(/^[A-Za-z0-9._:-]{1,40}$/),
  /** Open loop: logical requests started per second. */
  rate: z.number().int().min(1).max(20_000).optional(),
  /** Closed loop: requests kept open at all times (instead of `rate`). */
  concurrency: z.number().int().min(1).max(4_000).optional(),
  /** The phase of the first requests (later ones: `phase <name>` on stdin). */
  phase: z.string().min(1).default('start'),
  users: z.number().int().min(1).default(500),
  retries: z.number().int().min(0).max(10).default(2),
  maxInFlight: z.number().int().min(1).max(16_000).default(4_000),
  requestTimeoutMs: z.number().int().min(100).default(10_000),
  /** Longest wait between attempts, whatever Retry-After says. */
  maxRetryDelayMs: z.number().int().min(0).default(2_000),
  maxDurationMs: z.number().int().min(1_000).max(3_600_000),
  maxRequests: z.number().int().min(1).max(50_000_000),
  out: z.string().min(1),
}).refine((o) => (o.rate === undefined) !== (o.concurrency === undefined), 'give rate (open loop) or concurrency (closed loop)');
export type LoadOptions = z.input<typeof LoadOptions>;

export interface AttemptRecord {
  /** phase */
  readonly p: string;
  /** logical request number (session `<runId>-<n>`) */
  readonly n: number;
  /** attempt, 0-based */
  readonly a: number;
  /** HTTP status; 0 = no answer by the client deadline; -1 = connection error */
  readonly s: number;
  /** Retry-After header, when present */
  readonly ra?: string;
  /** problem code of an error answer */
  readonly c?: string;
  /** event id of a 202 */
  readonly id?: string;
  /** milliseconds from send to answer */
  readonly ms: number;
  /** send time, ms since the worker started */
  readonly t: number;
}

export interface PhaseStart {
  readonly phase: string;
  /** The first request number of the phase. */
  readonly from: number;
}

export interface LoadSummary {
  /** Requests sent: numbers 0..started-1, each one answered, timed out or failed. */
  readonly started: number;
  /** Where each phase began, in order. */
  readonly phases: readonly PhaseStart[];
  readonly skipped: number;
  readonly attempts: number;
  readonly durationMs: number;
  readonly stoppedBy: 'command' | 'duration' | 'count';
}

async function main(): Promise<void> {
  const options = LoadOptions.parse(JSON.parse(process.env.LOAD_OPTIONS ?? '{}'));
  const sink = Bun.file(options.out).writer({ highWaterMark: 1 << 20 });
  const t0 = performance.now();
  let phase = options.phase;
  const phases: PhaseStart[] = [{ phase, from: 0 }];
  let stopping = false;
  let stoppedBy: LoadSummary['stoppedBy'] = 'command';
  let started = 0;
  let skipped = 0;
  let attempts = 0;
  let inFlight = 0;
  const base = `${options.url.replace(/\/$/, '')}/sessions/`;

  const record = (r: AttemptRecord) => {
    attempts += 1;
    sink.write(`${JSON.stringify(r)}\n`);
  };

  const body = (n: number) => {
    const completed = Date.now() - 1_000;
    return JSON.stringify({
      userId: `${options.runId}-u${n % options.users}`,
      startedAt: new Date(completed - 1_000 - (n % 600_000)).toISOString(),
      completedAt: new Date(completed).toISOString(),
      score: n % 7 === 0 ? undefined : (n % 1000) / 10,
      outcome: n % 11 === 0 ? 'failed' : n % 13 === 0 ? 'abandoned' : 'completed',
    });
  };

  async function logical(n: number, tag: string): Promise<void> {
    const sessionId = `${options.runId}-${n}`;
    const payload = body(n);
    for (let a = 0; a <= options.retries; a++) {
      const sent = performance.now();
      let status: number;
      let retryAfter: string | undefined;
      let code: string | undefined;
      let id: string | undefined;
      try {
        const res = await fetch(base + sessionId + '/complete', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${options.runId}-k${n}` },
          body: payload,
          signal: AbortSignal.timeout(options.requestTimeoutMs),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after') ?? undefined;
        const text = await res.text();
        try {
          const json = JSON.parse(text) as { eventId?: unknown; code?: unknown };
          if (status === 202 && typeof json.eventId === 'string') id = json.eventId;
          if (status !== 202 && typeof json.code === 'string') code = json.code;
        } catch {
          code = 'NOT_JSON';
        }
      } catch (error) {
        const name = (error as Error).name;
        status = name === 'TimeoutError' || name === 'AbortError' ? 0 : -1;
        code = name === 'TimeoutError' || name === 'AbortError' ? 'CLIENT_TIMEOUT' : `CONNECTION:${(error as Error).message.slice(0, 60)}`;
      }
      const ms = Math.round(performance.now() - sent);
      record({ p: tag, n, a, s: status, ...(retryAfter === undefined ? {} : { ra: retryAfter }), ...(code ? { c: code } : {}), ...(id ? { id } : {}), ms, t: Math.round(sent - t0) });
      if (status !== 503 || a === options.retries || stopping) return;
      const wait = Math.min(options.maxRetryDelayMs, Number(retryAfter ?? '1') * 1_000);
      await Bun.sleep(Number.isFinite(wait) && wait > 0 ? wait : 1_000);
    }
  }

  // stdin: phase changes and stop.
  void (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of Bun.stdin.stream()) {
      pending += decoder.decode(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === 'stop') stopping = true;
        else if (line.startsWith('phase ')) {
          phase = line.slice(6).trim();
          if (phases.at(-1)?.from === started) phases.pop(); // a phase that sent nothing
          phases.push({ phase, from: started });
        }
      }
    }
    stopping = true; // parent gone
  })();

  const open = new Set<Promise<void>>();
  const tickMs = 5;
  let lastReport = 0;
  const rate = options.rate ?? 0;
  if (options.concurrency !== undefined) {
    // Closed loop: each lane sends its next request when the last one ended.
    const lane = async () => {
      while (!stopping && performance.now() - t0 < options.maxDurationMs && started < options.maxRequests) {
        const n = started++;
        inFlight += 1;
        await logical(n, phase).finally(() => (inFlight -= 1));
      }
    };
    open.add(Promise.all(Array.from({ length: options.concurrency }, lane)).then(() => undefined));
    stoppedBy = 'duration';
  }
  while (!stopping && options.concurrency === undefined) {
    const elapsed = performance.now() - t0;
    if (elapsed >= options.maxDurationMs) {
      stoppedBy = 'duration';
      break;
    }
    if (started + skipped >= options.maxRequests) {
      stoppedBy = 'count';
      break;
    }
    const due = Math.min(options.maxRequests, Math.floor((elapsed / 1000) * rate)) - (started + skipped);
    for (let i = 0; i < due; i++) {
      if (inFlight >= options.maxInFlight) {
        skipped += 1;
        continue;
      }
      const n = started++;
      inFlight += 1;
      const p = logical(n, phase).finally(() => {
        inFlight -= 1;
        open.delete(p);
      });
      open.add(p);
    }
    if (elapsed - lastReport >= 1_000) {
      lastReport = elapsed;
      console.log(JSON.stringify({ progress: { phase, started, skipped, inFlight, attempts } }));
    }
    await Bun.sleep(tickMs);
  }
  await Promise.all(open);
  await sink.end();
  const summary: LoadSummary = { started, phases, skipped, attempts, durationMs: Math.round(performance.now() - t0), stoppedBy };
  console.log(JSON.stringify({ summary }));
  process.exit(0);
}

if (import.meta.main) await main();
