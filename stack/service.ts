/**
 * The life cycle every service of the stack shares: start (adopting our running process or
 * clearing a stale pid file), wait for a real readiness probe, stop, report status. The
 * service files (kafka.ts, postgres.ts, clickhouse.ts) only describe themselves.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { AppError } from '../src/kernel/errors.ts';
import { delay, pollUntil, withTimeout } from './deadline.ts';
import { seconds, type StackLog } from './log.ts';
import type { ServiceName, ServicePaths } from './paths.ts';
import {
  type CmdlineMatcher,
  inspectPidFile,
  isAlive,
  portHolder,
  portIsFree,
  processState,
  readPidFile,
  removeFile,
  spawnDetached,
  START_MARKER,
  stopProcess,
  tailFile,
} from './process.ts';

export interface ServicePort {
  readonly port: number;
  readonly label: string;
}

/** N: the stack's three (`ServiceName`) or a cluster member's name (`kafka-2`, `postgres-standby`). */
export interface ServiceDefinition<N extends string = ServiceName> {
  readonly name: N;
  readonly paths: ServicePaths;
  readonly ports: readonly ServicePort[];
  /** Logs a person should read, the most useful first; the first is "the log file". */
  readonly logFiles: readonly string[];
  /** Where the process's stdout/stderr go. */
  readonly consoleLog: string;
  readonly matches: CmdlineMatcher;
  readonly stopSignal: NodeJS.Signals;
  /**
   * The server's own lock files holding a pid on their first line (Postgres: postmaster.pid and
   * the socket's .lock). When our pid file is missing but one names our live server, we adopt it.
   * Otherwise the server clears them itself when their pid is dead; but it counts a zombie (or a
   * recycled pid) as alive and refuses to start, so we wait for a zombie to be reaped and remove
   * a file whose pid now belongs to another process.
   */
  readonly serverLockFiles?: readonly string[];
  /**
   * Runs first on every start, of a stopped or of an already-running server; a throw stops the
   * start at once with its message (e.g. credentials that differ from the stack's file).
   */
  preflight?(): void;
  /** Writes config files, creates (or formats) the data dir; idempotent. */
  prepare(log: StackLog, timeoutMs: number): Promise<void>;
  /** The foreground server command; the stack detaches it. */
  command(): { readonly argv: readonly string[]; readonly cwd: string; readonly env: Record<string, string | undefined> };
  /** One real request against the service; resolves when it answered. */
  probe(): Promise<void>;
  /** Runs on every start once the probe passes (idempotent bootstrap: roles, databases). */
  afterReady?(log: StackLog, timeoutMs: number): Promise<void>;
}

export interface ServiceStartResult {
  readonly name: string;
  readonly pid: number;
  readonly alreadyRunning: boolean;
  readonly ms: number;
}

const LOG_TAIL_LINES = 20;

const modifiedAt = (file: string): string | undefined => {
  try {
    return statSync(file).mtime.toISOString();
  } catch {
    return undefined;
  }
};

/** An AppError STACK_FAILED naming the service, its log and the log's last lines. */
export function serviceFailure(def: ServiceDefinition<string>, what: string, cause?: unknown): AppError {
  const parts = [`${def.name}: ${what}`];
  if (cause !== undefined) parts[0] += `: ${cause instanceof Error ? cause.message : String(cause)}`;
  const shown = new Set<string>();
  for (const file of [...def.logFiles, def.consoleLog]) {
    if (shown.has(file)) continue;
    shown.add(file);
    let tail = tailFile(file, LOG_TAIL_LINES);
    // The console log collects every run: show only this run's part (after the start marker).
    const marker = tail.lastIndexOf(START_MARKER);
    if (file === def.consoleLog && marker >= 0) tail = tail.slice(marker).split('\n').slice(1).join('\n');
    if (tail.trim() === '' && file !== def.logFiles[0]) continue;
    const modified = modifiedAt(file);
    parts.push(`--- last lines of ${file}${modified ? ` (written ${modified})` : ' (missing)'}${tail.trim() === '' ? ': empty' : ''}`);
    if (tail.trim() !== '') parts.push(tail);
  }
  return new AppError('STACK_FAILED', parts.join('\n'), {
    cause,
    details: { service: def.name, logFile: def.logFiles[0] },
  });
}

/** Our running pid, clearing our stale pid file on the way. */
function currentPid(def: ServiceDefinition<string>, log: StackLog): number | undefined {
  const state = inspectPidFile(def.paths.pidFile, def.matches);
  if (state.state === 'running') return state.pid;
  if (state.state === 'stale') {
    log.warn(`${def.name}: removing stale pid file ${def.paths.pidFile} (pid ${state.pid}: ${state.reason})`);
    removeFile(def.paths.pidFile);
  }
  for (const file of def.serverLockFiles ?? []) {
    const own = inspectPidFile(file, def.matches);
    if (own.state === 'running') {
      log.warn(`${def.name}: our pid file was missing; adopting the running server (pid ${own.pid}, from ${file})`);
      writeFileSync(def.paths.pidFile, `${own.pid}\n`);
      return own.pid;
    }
  }
  return undefined;
}

/** See ServiceDefinition.serverLockFiles. Runs only when our server is not running. */
async function clearServerLockFiles(def: ServiceDefinition<string>, log: StackLog, timeoutMs: number): Promise<void> {
  for (const file of def.serverLockFiles ?? []) {
    const pid = readPidFile(file);
    if (pid === undefined) continue;
    const deadline = Date.now() + Math.min(timeoutMs, 15_000);
    while (processState(pid) === 'zombie' && Date.now() < deadline) await delay(100);
    const state = processState(pid);
    if (state === 'zombie') throw serviceFailure(def, `${file} names pid ${pid}, an exited process not reaped by its parent; start again when it is gone`);
    if (state === 'alive') {
      log.warn(`${def.name}: ${file} names pid ${pid}, now another process; removing the stale file`);
      removeFile(file);
    }
  }
}

async function checkPorts(def: ServiceDefinition<string>): Promise<void> {
  for (const { port, label } of def.ports) {
    if (await portIsFree(port)) continue;
    const holder = await portHolder(port);
    throw new AppError(
      'STACK_FAILED',
      `${def.name}: port ${port} (${label}) on 127.0.0.1 is already in use by ${holder ?? 'another process'} ` +
        `that this stack did not start. Stop it, or choose another port (see README, "Configuration").`,
      { details: { service: def.name, port } },
    );
  }
}

export async function startService(def: ServiceDefinition<string>, log: StackLog, timeoutMs: number): Promise<ServiceStartResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const left = () => Math.max(1_000, deadline - Date.now());
  def.preflight?.();
  mkdirSync(def.paths.logs, { recursive: true });

  let pid = currentPid(def, log);
  const alreadyRunning = pid !== undefined;
  if (pid === undefined) {
    await clearServerLockFiles(def, log, left());
    await checkPorts(def);
    try {
      await def.prepare(log, left());
    } catch (error) {
      throw error instanceof AppError ? error : serviceFailure(def, 'preparing the data directory failed', error);
    }
    const { argv, cwd, env } = def.command();
    pid = spawnDetached({ argv, cwd, env, logFile: def.consoleLog, pidFile: def.paths.pidFile });
  }
  const runningPid = pid;
  try {
    await pollUntil(`${def.name} readiness`, () => def.probe(), {
      timeoutMs: left(),
      intervalMs: 200,
      abortIf: () => (isAlive(runningPid) ? undefined : `the process (pid ${runningPid}) exited`),
    });
  } catch (error) {
    throw serviceFailure(def, alreadyRunning ? 'running but not answering' : 'did not become ready', error);
  }
  if (def.afterReady !== undefined) {
    try {
      await withTimeout(def.afterReady(log, left()), left(), `${def.name} bootstrap`);
    } catch (error) {
      throw error instanceof AppError ? error : serviceFailure(def, 'bootstrap after start failed', error);
    }
  }
  const ms = Date.now() - started;
  log.info(`${def.name}: ${alreadyRunning ? 'already running' : 'started'}, ready (pid ${runningPid}, ${seconds(ms)})`);
  return { name: def.name, pid: runningPid, alreadyRunning, ms };
}

export interface ServiceStopResult {
  readonly name: string;
  readonly outcome: 'stopped' | 'killed' | 'not-running';
  readonly ms: number;
}

export async function stopService(def: ServiceDefinition<string>, log: StackLog, timeoutMs: number): Promise<ServiceStopResult> {
  const started = Date.now();
  const pid = currentPid(def, log);
  if (pid === undefined) return { name: def.name, outcome: 'not-running', ms: 0 };
  const outcome = await stopProcess(pid, def.matches, { signal: def.stopSignal, timeoutMs });
  if (outcome === 'killed') log.warn(`${def.name}: did not stop within ${seconds(timeoutMs)}; killed pid ${pid}`);
  removeFile(def.paths.pidFile);
  const ms = Date.now() - started;
  log.info(`${def.name}: stopped (pid ${pid}, ${seconds(ms)})`);
  return { name: def.name, outcome: outcome === 'not-ours' ? 'not-running' : outcome, ms };
}

export interface ServiceStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly ports: readonly ServicePort[];
  readonly ready: boolean;
  readonly dataDir: string;
  readonly logFile: string;
  readonly note?: string;
}

export async function serviceStatus(def: ServiceDefinition<string>, probeTimeoutMs = 3_000): Promise<ServiceStatus> {
  const state = inspectPidFile(def.paths.pidFile, def.matches);
  const running = state.state === 'running';
  let ready = false;
  if (running) {
    try {
      await withTimeout(def.probe(), probeTimeoutMs, `${def.name} probe`);
      ready = true;
    } catch {
      ready = false;
    }
  }
  return {
    name: def.name,
    running,
    pid: running ? state.pid : readPidFile(def.paths.pidFile),
    ports: def.ports,
    ready,
    dataDir: def.paths.data,
    logFile: def.logFiles[0] ?? def.consoleLog,
    ...(state.state === 'stale' ? { note: `stale pid file (${state.reason})` } : {}),
  };
}
