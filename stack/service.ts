/**
 * The life cycle every service of the stack shares: start (adopting our running process or
 * clearing a stale pid file), wait for a real readiness probe, stop, report status. The
 * service files (kafka.ts, postgres.ts, clickhouse.ts) only describe themselves.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { AppError } from '../src/errors.ts';
import { pollUntil, withTimeout } from './deadline.ts';
import { seconds, type StackLog } from './log.ts';
import type { ServiceName, ServicePaths } from './paths.ts';
import {
  type CmdlineMatcher,
  inspectPidFile,
  isAlive,
  portHolder,
  portIsFree,
  readPidFile,
  removeFile,
  spawnDetached,
  stopProcess,
  tailFile,
} from './process.ts';

export interface ServicePort {
  readonly port: number;
  readonly label: string;
}

export interface ServiceDefinition {
  readonly name: ServiceName;
  readonly paths: ServicePaths;
  readonly ports: readonly ServicePort[];
  /** Logs a person should read, the most useful first; the first is "the log file". */
  readonly logFiles: readonly string[];
  /** Where the process's stdout/stderr go. */
  readonly consoleLog: string;
  readonly matches: CmdlineMatcher;
  readonly stopSignal: NodeJS.Signals;
  /**
   * The server's own pid file (Postgres' postmaster.pid). When our pid file is missing but this
   * names our live server, we adopt it; when it names nothing of ours, it is stale and removed.
   */
  readonly serverPidFile?: string;
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
  readonly name: ServiceName;
  readonly pid: number;
  readonly alreadyRunning: boolean;
  readonly ms: number;
}

const LOG_TAIL_LINES = 20;

/** An AppError STACK_FAILED naming the service, its log and the log's last lines. */
export function serviceFailure(def: ServiceDefinition, what: string, cause?: unknown): AppError {
  const parts = [`${def.name}: ${what}`];
  if (cause !== undefined) parts[0] += `: ${cause instanceof Error ? cause.message : String(cause)}`;
  const shown = new Set<string>();
  for (const file of [...def.logFiles, def.consoleLog]) {
    if (shown.has(file)) continue;
    shown.add(file);
    const tail = tailFile(file, LOG_TAIL_LINES);
    if (tail === '' && file !== def.logFiles[0]) continue;
    parts.push(`--- last ${LOG_TAIL_LINES} lines of ${file}${tail === '' ? ' (empty or missing)' : ''}`);
    if (tail !== '') parts.push(tail);
  }
  return new AppError('STACK_FAILED', parts.join('\n'), {
    cause,
    details: { service: def.name, logFile: def.logFiles[0] },
  });
}

/** Our running pid, clearing stale pid files (ours and the server's own) on the way. */
function currentPid(def: ServiceDefinition, log: StackLog): number | undefined {
  const state = inspectPidFile(def.paths.pidFile, def.matches);
  if (state.state === 'running') return state.pid;
  if (state.state === 'stale') {
    log.warn(`${def.name}: removing stale pid file ${def.paths.pidFile} (pid ${state.pid}: ${state.reason})`);
    removeFile(def.paths.pidFile);
  }
  if (def.serverPidFile !== undefined && existsSync(def.serverPidFile)) {
    const own = inspectPidFile(def.serverPidFile, def.matches);
    if (own.state === 'running') {
      log.warn(`${def.name}: our pid file was missing; adopting the running server (pid ${own.pid})`);
      return own.pid;
    }
    log.warn(`${def.name}: removing the server's stale pid file ${def.serverPidFile}`);
    removeFile(def.serverPidFile);
  }
  return undefined;
}

async function checkPorts(def: ServiceDefinition): Promise<void> {
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

export async function startService(def: ServiceDefinition, log: StackLog, timeoutMs: number): Promise<ServiceStartResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const left = () => Math.max(1_000, deadline - Date.now());
  mkdirSync(def.paths.logs, { recursive: true });

  let pid = currentPid(def, log);
  const alreadyRunning = pid !== undefined;
  if (pid === undefined) {
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
  readonly name: ServiceName;
  readonly outcome: 'stopped' | 'killed' | 'not-running';
  readonly ms: number;
}

export async function stopService(def: ServiceDefinition, log: StackLog, timeoutMs: number): Promise<ServiceStopResult> {
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
  readonly name: ServiceName;
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly ports: readonly ServicePort[];
  readonly ready: boolean;
  readonly dataDir: string;
  readonly logFile: string;
  readonly note?: string;
}

export async function serviceStatus(def: ServiceDefinition, probeTimeoutMs = 3_000): Promise<ServiceStatus> {
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
