/**
 * The parent side of the load loop: starts load-worker.ts as a child process, tags phases, stops
 * it, and reads back what every request got.
 */
import { join } from 'node:path';
import type { AttemptRecord, LoadOptions, LoadSummary } from './load-worker.ts';

export interface RunningLoad {
  phase(name: string): void;
  /** Latest progress line of the worker. */
  progress(): { phase: string; started: number; skipped: number; inFlight: number; attempts: number } | undefined;
  /** Asks the worker to stop, waits for its open requests (bounded by their client deadline). */
  stop(): Promise<LoadSummary>;
  /** Waits for the worker to end on its own (its duration or request count), then as stop(). */
  finished(): Promise<LoadSummary>;
}

export function startLoad(options: LoadOptions): RunningLoad {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, 'load-worker.ts')], {
    env: {
      ...process.env,
      LOAD_OPTIONS: JSON.stringify(options),
      // Bun's fetch keeps at most 256 requests open unless told otherwise at start-up.
      BUN_CONFIG_MAX_HTTP_REQUESTS: String(Math.min(65_000, (options.concurrency ?? options.maxInFlight ?? 4_000) + 256)),
    },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'inherit',
  });
  let progress: ReturnType<RunningLoad['progress']>;
  let summary: LoadSummary | undefined;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const msg = JSON.parse(line) as { progress?: typeof progress; summary?: LoadSummary };
          if (msg.progress) progress = msg.progress;
          if (msg.summary) summary = msg.summary;
        } catch {
          // not ours
        }
      }
    }
  })();
  const send = (line: string) => {
    try {
      child.stdin.write(`${line}\n`);
      void child.stdin.flush();
    } catch {
      // the worker is gone; stop() reports it
    }
  };
  return {
    phase: (name) => send(`phase ${name}`),
    progress: () => progress,
    stop() {
      send('stop');
      return ended(0);
    },
    finished: () => ended(options.maxDurationMs),
  };

  /** The worker's summary once it exits; killed if its open requests outlast their deadlines. */
  async function ended(runMs: number): Promise<LoadSummary> {
    const timer = setTimeout(() => child.kill('SIGKILL'), runMs + (options.requestTimeoutMs ?? 10_000) * ((options.retries ?? 2) + 1) + 30_000);
    const code = await child.exited;
    clearTimeout(timer);
    await reading;
    if (summary === undefined) throw new Error(`the load worker ended (code ${code}) without a summary`);
    return summary;
  }
}

/** Every attempt the worker recorded, in the order they finished. */
export async function readAttempts(file: string): Promise<AttemptRecord[]> {
  const text = await Bun.file(file).text();
  const out: AttemptRecord[] = [];
  for (const line of text.split('\n')) if (line !== '') out.push(JSON.parse(line) as AttemptRecord);
  return out;
}
