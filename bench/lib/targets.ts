/** Starts the systems under test as child processes and waits until they answer. */
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dir, '..', '..');

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit code. */
  stop(): Promise<number>;
}

export interface TargetOptions {
  readonly url: string;
  readonly readyPath: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Append the child's stdout and stderr to this file (default: inherit stderr, drop stdout). */
  readonly logFile?: string;
  readonly stopGraceMs?: number;
}

/** Every target still running: killed if the benchmark itself is interrupted. */
const live = new Set<Bun.Subprocess>();

/** SIGKILLs every target this process started and has not stopped yet. */
export function killAllTargets(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}

export async function startTarget(name: string, argv: readonly string[], opts: TargetOptions): Promise<Target> {
  const fd = opts.logFile === undefined ? undefined : openSync(opts.logFile, 'a');
  const proc = Bun.spawn([...argv], {
    cwd: REPO,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', fd ?? 'ignore', fd ?? 'inherit'],
  });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  if (fd !== undefined) closeSync(fd); // the child has its own copy
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`${name} exited with ${proc.exitCode} before it was ready${opts.logFile ? ` (log: ${opts.logFile})` : ''}`);
    }
    try {
      if ((await fetch(`${opts.url}${opts.readyPath}`, { signal: AbortSignal.timeout(2_000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} was not ready at ${opts.url}${opts.readyPath} in time${opts.logFile ? ` (log: ${opts.logFile})` : ''}`);
    }
    await Bun.sleep(100);
  }
  return {
    name,
    url: opts.url,
    pid: proc.pid,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), opts.stopGraceMs ?? 15_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
