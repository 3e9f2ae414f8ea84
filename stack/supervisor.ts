/**
 * The project's own process supervisor: what compose's `restart: unless-stopped` does for the
 * app processes (API instances, consumers, HAProxy) of the native stack. `npm start` runs it in
 * the foreground, `npm run up` in a detached `system.ts supervise` process, the drill in-process.
 *
 * Guarantees: a process that exits without being asked to is started again after a backoff
 * (0.5 s doubling to 30 s; back to 0.5 s once it stayed up 30 s), forever, and each restart is
 * counted; a process asked to stop (stop/scale down/rolling restart) is never restarted. Groups
 * (`api`, `consumer-postgres`, ...) are scaled by adding or removing their highest instance, and
 * restarted one instance at a time, each waiting for /readyz before the next.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { getPriority } from 'node:os';
import { dirname } from 'node:path';
import { canRaisePriorityTo } from '../src/kernel/start-priority.ts';
import { delay } from './deadline.ts';
import type { StackLog } from './log.ts';

export interface ProcSpec {
  /** Unique, e.g. `api-1`, `consumer-postgres-0`, `haproxy`. */
  readonly name: string;
  /** Scaling unit, e.g. `api`. */
  readonly group: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Appended to (JSON lines, as the process writes them). */
  readonly logFile: string;
  /** Answers 200 when the process is ready (API /readyz, consumer /readyz). */
  readonly readyUrl?: string;
  /** Signal for a clean stop; SIGTERM by default. */
  readonly stopSignal?: NodeJS.Signals;
  /**
   * Start the process at this nice value; it takes the supervisor's priority back itself
   * (NICE_AFTER_START) once started. Applied only where that is allowed (start-priority.ts).
   */
  readonly startNice?: number;
}

/**
 * Where output goes. `file`: the log file only (background). `terminal`: the log file, and a
 * one-line human form of warnings and errors on this terminal (foreground on a TTY). `inherit`:
 * the JSON lines on this process's stdout/stderr (foreground to a file or a log collector).
 */
export type OutputMode = 'file' | 'terminal' | 'inherit';

export interface ProcStatus {
  readonly name: string;
  readonly group: string;
  readonly pid: number | undefined;
  readonly state: 'running' | 'backoff' | 'stopping' | 'stopped';
  readonly restarts: number;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly at: string };
  readonly upSince?: string;
  readonly readyUrl?: string;
  readonly logFile: string;
}

interface Entry {
  spec: ProcSpec;
  proc?: Bun.Subprocess;
  wanted: boolean;
  restarts: number;
  failuresInARow: number;
  startedAt: number;
  lastExit?: ProcStatus['lastExit'];
  restartTimer?: ReturnType<typeof setTimeout>;
  exited?: Promise<void>;
}

export const BACKOFF_START_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** A process that stayed up this long is healthy again: its next crash restarts after BACKOFF_START_MS. */
export const STABLE_AFTER_MS = 30_000;

/** The wait before restarting a process that failed `failuresInARow` times in a row (1 = first). */
export function restartDelayMs(failuresInARow: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, failuresInARow - 1));
}

export interface SupervisorOptions {
  readonly log: StackLog;
  readonly output: OutputMode;
  /** Called on every start, exit and restart (the background supervisor rewrites its state file). */
  readonly onChange?: () => void;
  /** Formats a terminal line for `terminal` output; returns undefined to hide it. */
  readonly terminalLine?: (name: string, line: string, stream: 'stdout' | 'stderr') => string | undefined;
  /** Honour the specs' `startNice`; by default when a child could take its priority back. */
  readonly lowPriorityStarts?: boolean;
}

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private closing = false;
  /** `nice` (coreutils) when low-priority starts are on, else undefined. */
  private readonly niceBin: string | undefined;
  private readonly ownNice = getPriority();

  constructor(private readonly options: SupervisorOptions) {
    const on = options.lowPriorityStarts ?? canRaisePriorityTo(this.ownNice);
    this.niceBin = on ? (Bun.which('nice') ?? undefined) : undefined;
  }

  /** Whether specs' `startNice` is honoured (the drill reports it). */
  get lowPriorityStarts(): boolean {
    return this.niceBin !== undefined;
  }

  /** The command line and environment of one start of `spec`: under `nice` for a low-priority start. */
  private command(spec: ProcSpec): { argv: string[]; env: Record<string, string | undefined> } {
    const low = spec.startNice !== undefined && this.niceBin !== undefined && spec.startNice > this.ownNice;
    if (!low) return { argv: [...spec.argv], env: { ...spec.env } };
    return {
      argv: [this.niceBin as string, '-n', String((spec.startNice as number) - this.ownNice), ...spec.argv],
      env: { ...spec.env, NICE_AFTER_START: String(this.ownNice) },
    };
  }

  /** Starts the process under supervision (no-op when that name is already supervised). */
  add(spec: ProcSpec): void {
    if (this.entries.has(spec.name)) return;
    const entry: Entry = { spec, wanted: true, restarts: 0, failuresInARow: 0, startedAt: 0 };
    this.entries.set(spec.name, entry);
    this.spawn(entry);
  }

  names(group?: string): string[] {
    return [...this.entries.values()].filter((e) => group === undefined || e.spec.group === group).map((e) => e.spec.name);
  }

  spec(name: string): ProcSpec | undefined {
    return this.entries.get(name)?.spec;
  }

  pid(name: string): number | undefined {
    const p = this.entries.get(name)?.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  status(): ProcStatus[] {
    return [...this.entries.values()].map((e) => {
      const pid = this.pid(e.spec.name);
      return {
        name: e.spec.name,
        group: e.spec.group,
        pid,
        state: pid !== undefined ? (e.wanted ? 'running' : 'stopping') : e.restartTimer ? 'backoff' : 'stopped',
        restarts: e.restarts,
        ...(e.lastExit ? { lastExit: e.lastExit } : {}),
        ...(pid !== undefined ? { upSince: new Date(e.startedAt).toISOString() } : {}),
        ...(e.spec.readyUrl ? { readyUrl: e.spec.readyUrl } : {}),
        logFile: e.spec.logFile,
      };
    });
  }

  private spawn(entry: Entry): void {
    entry.restartTimer = undefined;
    if (!entry.wanted || this.closing) return;
    const { spec } = entry;
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const mode = this.options.output;
    const fd = mode === 'inherit' ? undefined : openSync(spec.logFile, 'a');
    let proc: Bun.Subprocess;
    const { argv, env } = this.command(spec);
    try {
      proc = Bun.spawn(argv, {
        cwd: spec.cwd,
        env: env as Record<string, string>,
        stdin: 'ignore',
        stdout: mode === 'file' ? fd : mode === 'terminal' ? 'pipe' : 'inherit',
        stderr: mode === 'file' ? fd : mode === 'terminal' ? 'pipe' : 'inherit',
      });
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      this.options.log.warn(`${spec.name}: could not start (${(error as Error).message})`);
      this.scheduleRestart(entry, { code: null, signal: null });
      return;
    }
    entry.proc = proc;
    entry.startedAt = Date.now();
    const pumps: Promise<void>[] = [];
    if (mode === 'terminal' && fd !== undefined) {
      pumps.push(this.pump(spec.name, proc.stdout as ReadableStream<Uint8Array>, fd, 'stdout'));
      pumps.push(this.pump(spec.name, proc.stderr as ReadableStream<Uint8Array>, fd, 'stderr'));
    } else if (fd !== undefined) {
      closeSync(fd);
    }
    this.options.onChange?.();
    entry.exited = proc.exited.then(async (code) => {
      await Promise.all(pumps);
      if (mode === 'terminal' && fd !== undefined) closeSync(fd);
      if (entry.proc !== proc) return;
      entry.proc = undefined;
      const exit = { code, signal: proc.signalCode === null ? null : String(proc.signalCode), at: new Date().toISOString() };
      entry.lastExit = exit;
      if (!entry.wanted || this.closing) {
        this.options.onChange?.();
        return;
      }
      this.scheduleRestart(entry, exit);
    });
  }

  private scheduleRestart(entry: Entry, exit: { code: number | null; signal: string | null }): void {
    const upMs = entry.startedAt > 0 ? Date.now() - entry.startedAt : 0;
    entry.failuresInARow = upMs >= STABLE_AFTER_MS ? 1 : entry.failuresInARow + 1;
    const wait = restartDelayMs(entry.failuresInARow);
    entry.restarts += 1;
    this.options.log.warn(
      `${entry.spec.name} exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}) after ${(upMs / 1000).toFixed(1)} s; ` +
        `restarting in ${(wait / 1000).toFixed(1)} s (restart #${entry.restarts})`,
    );
    entry.restartTimer = setTimeout(() => this.spawn(entry), wait);
    this.options.onChange?.();
  }

  /** Copies a child's output to its log file; shows the lines the terminal wants. */
  private async pump(name: string, stream: ReadableStream<Uint8Array>, fd: number, kind: 'stdout' | 'stderr'): Promise<void> {
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of stream) {
        writeSync(fd, chunk);
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const shown = this.options.terminalLine?.(name, line, kind);
          if (shown !== undefined) process.stderr.write(`${shown}\n`);
        }
      }
    } catch {
      // the pipe closed with the process
    }
  }

  /** Waits until the process answers its ready URL with 200 (or has none). */
  async waitReady(name: string, timeoutMs = 60_000): Promise<void> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new Error(`no process named ${name}`);
    const url = entry.spec.readyUrl;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.pid(name) !== undefined) {
        if (url === undefined) return;
        try {
          if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return;
        } catch {
          // not listening yet
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`${name} was not ready${url ? ` at ${url}` : ''} within ${(timeoutMs / 1000).toFixed(0)} s; its log: ${entry.spec.logFile}`);
      }
      await delay(200);
    }
  }

  /** SIGKILL now, as a crash would; the supervisor restarts it (that is the point). */
  kill9(name: string): number | undefined {
    const pid = this.pid(name);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    return pid;
  }

  /** Stops one process for good (clean signal, SIGKILL after `timeoutMs`) and forgets it. */
  async remove(name: string, timeoutMs = 20_000): Promise<void> {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    entry.wanted = false;
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    entry.restartTimer = undefined;
    await this.stopProc(entry, timeoutMs);
    this.entries.delete(name);
    this.options.onChange?.();
  }

  private async stopProc(entry: Entry, timeoutMs: number): Promise<void> {
    const proc = entry.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(entry.spec.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    await entry.exited;
    clearTimeout(timer);
  }

  /** A clean restart of one process (not counted as a crash restart), waiting until it is ready. */
  async restart(name: string, timeoutMs = 60_000): Promise<void> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new Error(`no process named ${name}`);
    entry.wanted = false;
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    await this.stopProc(entry, 20_000);
    entry.wanted = true;
    entry.failuresInARow = 0;
    this.spawn(entry);
    await this.waitReady(name, timeoutMs);
  }

  /**
   * Every instance of a group, one at a time, each ready before the next. `wrap` runs around each
   * restart (the cluster drains the instance in HAProxy first and takes it back after).
   */
  async rollingRestart(group: string, wrap?: (name: string, restart: () => Promise<void>) => Promise<void>): Promise<string[]> {
    const names = this.names(group);
    for (const name of names) {
      this.options.log.info(`rolling restart: ${name}`);
      const restart = () => this.restart(name);
      await (wrap ? wrap(name, restart) : restart());
    }
    return names;
  }

  /**
   * Grows or shrinks a group to `count` instances: `make(index)` describes instance `index`;
   * shrinking stops the highest indexes first (cleanly: a consumer drains and commits).
   */
  async scale(group: string, count: number, make: (index: number) => ProcSpec, readyTimeoutMs = 60_000): Promise<void> {
    const current = this.names(group);
    const indexOf = (n: string) => Number(n.slice(n.lastIndexOf('-') + 1));
    current.sort((a, b) => indexOf(a) - indexOf(b));
    if (current.length > count) {
      await Promise.all(current.slice(count).map((n) => this.remove(n)));
      return;
    }
    const added: string[] = [];
    for (let i = 0; added.length + current.length < count; i++) {
      const spec = make(i);
      if (this.entries.has(spec.name)) continue;
      this.add(spec);
      added.push(spec.name);
    }
    await Promise.all(added.map((n) => this.waitReady(n, readyTimeoutMs)));
  }

  /** Stops everything (groups in the order given first, the rest after), cleanly. */
  async stopAll(order: readonly string[] = [], timeoutMs = 20_000): Promise<void> {
    this.closing = true;
    const groups = [...order, ...new Set([...this.entries.values()].map((e) => e.spec.group).filter((g) => !order.includes(g)))];
    for (const g of groups) await Promise.all(this.names(g).map((n) => this.remove(n, timeoutMs)));
  }
}
