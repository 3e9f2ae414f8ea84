/**
 * A private, full stack for tests and commands that inject faults: its own Kafka, Postgres and
 * ClickHouse in a temp STACK_DIR on free ports (the shared stack keeps serving everyone else),
 * migrated, with the configured topics, plus the project's three processes (API, Postgres
 * consumer, ClickHouse consumer) as child processes pointed at it.
 *
 * Every piece can be killed and brought back: `services.<name>.kill9()/stop()/start()` for the
 * servers, `apps.<name>.kill9()/start()` for the processes. `dispose()` stops all of it and
 * removes the folder. Callers (the fault test, `npm run faults`) call `launchPrivateStack()` and
 * dispose of it themselves.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/kernel/config.ts';
import { ensureConfiguredTopics } from '../../src/kernel/kafka/topics.ts';
import { silentLogger } from '../../src/kernel/observability/logger.ts';
import { migrate } from './migrate.ts';
import { loadStackConfig, stackServices, startStack, stopStack } from '../../stack/index.ts';
import { installStack, kafkaLibsDir } from '../../stack/install.ts';
import { withStackLock } from '../../stack/lock.ts';
import { silentStackLog, type StackLog } from '../../stack/log.ts';
import { inspectPidFile } from '../../stack/process.ts';
import { type ServiceDefinition, startService, stopService } from '../../stack/service.ts';
import { REPO_ROOT as repoRoot, stackDir } from '../../stack/paths.ts';
import { freePort } from './net.ts';

export type ServiceName = 'kafka' | 'postgres' | 'clickhouse';
export type AppName = 'api' | 'consumer-postgres' | 'consumer-clickhouse';

export interface ServiceControl {
  readonly name: ServiceName;
  /** The server's pid, or undefined when it is not running. */
  pid(): number | undefined;
  /** SIGKILL: no shutdown hooks, no flush. */
  kill9(): void;
  /** The stack's own clean stop (Postgres: fast shutdown; Kafka, ClickHouse: SIGTERM). */
  stop(): Promise<void>;
  /** Starts it again and waits until it answers a real request. */
  start(): Promise<void>;
}

export interface AppControl {
  readonly name: AppName;
  readonly logFile: string;
  /** http://127.0.0.1:<port> of its HTTP side (API, or the consumer's health/metrics port). */
  readonly url: string;
  pid(): number | undefined;
  running(): boolean;
  /** Starts the process and waits for /readyz (200) within `timeoutMs`. */
  start(timeoutMs?: number): Promise<void>;
  /** SIGKILL now (synchronously: no await between deciding and killing); see `exited()`. */
  kill9Sync(): void;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
  /** Resolves when the current process has exited. */
  exited(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Exits nobody asked for (the process died on its own), with their codes. */
  readonly unexpectedExits: Array<{ at: number; code: number | null }>;
}

export interface PrivateStack {
  readonly dir: string;
  readonly config: Config;
  /** The environment the app processes get (and any other child should get). */
  readonly env: Readonly<Record<string, string>>;
  readonly services: Readonly<Record<ServiceName, ServiceControl>>;
  readonly apps: Readonly<Record<AppName, AppControl>>;
  /** Starts the API and both consumers (in parallel) and waits until each is ready. */
  startApps(timeoutMs?: number): Promise<void>;
  /** Stops the processes, then the servers, then removes the folder. Idempotent. */
  dispose(): Promise<void>;
}

export interface PrivateStackOptions {
  /** Extra settings for the app processes (and the config), e.g. consumer batch sizes. */
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: StackLog;
  /** Keep the temp folder after dispose (to read the logs). */
  readonly keepDir?: boolean;
}

/** Variables derived from the ports: they must follow the private ports, not the caller's env. */
const DERIVED = ['KAFKA_BROKERS', 'DATABASE_URL', 'CLICKHOUSE_URL', 'KAFKA_TOPIC', 'KAFKA_DLQ_TOPIC'] as const;

const APP_SCRIPTS: Record<AppName, string> = {
  api: 'src/server.ts',
  'consumer-postgres': 'consumers/postgres/main.ts',
  'consumer-clickhouse': 'consumers/clickhouse/main.ts',
};

/**
 * Starts the private stack: servers (reusing the shared stack's Kafka jars), migrations, topics.
 * The app processes are not started: call `startApps()`. `onCreated` sees the handle before the
 * slow start, so a caller can register its cleanup even if the start fails half-way.
 */
export async function launchPrivateStack(
  sharedConfig: Config,
  options: PrivateStackOptions = {},
  onCreated?: (stack: PrivateStack) => void,
): Promise<PrivateStack> {
  const log = options.log ?? silentStackLog;
  const dir = mkdtempSync(join(tmpdir(), 'pstack-'));
  const ports = {
    KAFKA_PORT: freePort(),
    KAFKA_CONTROLLER_PORT: freePort(),
    PG_PORT: freePort(),
    CLICKHOUSE_HTTP_PORT: freePort(),
    CLICKHOUSE_TCP_PORT: freePort(),
    HTTP_PORT: freePort(),
    PG_CONSUMER_METRICS_PORT: freePort(),
    CH_CONSUMER_METRICS_PORT: freePort(),
  };
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !(DERIVED as readonly string[]).includes(k)) inherited[k] = v;
  }
  const env: Record<string, string> = {
    ...inherited,
    STACK_DIR: dir,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    KAFKA_HEAP: '384m',
    HTTP_HOST: '127.0.0.1',
    API_WORKERS: '1',
    LOG_LEVEL: 'warn',
    // The access-control work adds API keys; this stack exercises the pipeline, not auth.
    APP_ENV: 'development',
    AUTH_DISABLED: 'true',
    ...options.env,
  };
  // Its own passwords (in <dir>/credentials.env): the app processes read them from there.
  const config = loadStackConfig(env, log);

  mkdirSync(join(dir, 'kafka'), { recursive: true });
  // The broker jars live once, in the shared stack's folder: on a fresh clone nothing has put
  // them there yet (`npm run bench -- --private-stack` failed so), so install what is missing first.
  await withStackLock(stackDir(sharedConfig), sharedConfig.STACK_START_TIMEOUT_MS, log, () => installStack(sharedConfig, log));
  const sharedLibs = kafkaLibsDir(sharedConfig);
  if (existsSync(sharedLibs)) symlinkSync(sharedLibs, kafkaLibsDir(config));

  const defs = Object.fromEntries(stackServices(config).map((d) => [d.name, d])) as Record<ServiceName, ServiceDefinition>;
  const services = Object.fromEntries(
    (Object.keys(defs) as ServiceName[]).map((name) => [name, serviceControl(defs[name], config)]),
  ) as Record<ServiceName, ServiceControl>;

  const logsDir = join(dir, 'app-logs');
  mkdirSync(logsDir, { recursive: true });
  const appPorts: Record<AppName, number> = {
    api: ports.HTTP_PORT,
    'consumer-postgres': ports.PG_CONSUMER_METRICS_PORT,
    'consumer-clickhouse': ports.CH_CONSUMER_METRICS_PORT,
  };
  const apps = Object.fromEntries(
    (Object.keys(APP_SCRIPTS) as AppName[]).map((name) => [name, appControl(name, appPorts[name], env, logsDir)]),
  ) as Record<AppName, AppControl>;

  let disposed: Promise<void> | undefined;
  const stack: PrivateStack = {
    dir,
    config,
    env,
    services,
    apps,
    async startApps(timeoutMs = 120_000) {
      await Promise.all(Object.values(apps).map((a) => a.start(timeoutMs)));
    },
    dispose: () =>
      (disposed ??= (async () => {
        await Promise.allSettled(Object.values(apps).map((a) => a.stop(15_000)));
        await stopStack(config, silentStackLog).catch(() => undefined);
        // A killed server may have left its pid file; stop whatever is still ours by pid.
        for (const s of Object.values(services)) {
          const pid = s.pid();
          if (pid !== undefined) s.kill9();
        }
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      })()),
  };
  onCreated?.(stack);

  await startStack({ ...config, AUTO_INSTALL: false }, log);
  await migrate(config, log);
  await ensureConfiguredTopics(config, silentLogger());
  return stack;
}

function serviceControl(def: ServiceDefinition, config: Config): ServiceControl {
  const pid = () => {
    const state = inspectPidFile(def.paths.pidFile, def.matches);
    return state.state === 'running' ? state.pid : undefined;
  };
  return {
    name: def.name,
    pid,
    kill9() {
      const p = pid();
      if (p !== undefined) process.kill(p, 'SIGKILL');
    },
    async stop() {
      await stopService(def, silentStackLog, 60_000);
    },
    async start() {
      await startService(def, silentStackLog, config.STACK_START_TIMEOUT_MS);
    },
  };
}

function appControl(name: AppName, port: number, env: Record<string, string>, logsDir: string): AppControl {
  const logFile = join(logsDir, `${name}.log`);
  const url = `http://127.0.0.1:${port}`;
  let proc: Bun.Subprocess | undefined;
  let expected = false;
  const unexpectedExits: AppControl['unexpectedExits'] = [];
  const running = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;

  const control: AppControl = {
    name,
    logFile,
    url,
    unexpectedExits,
    pid: () => (running() ? proc?.pid : undefined),
    running,
    async start(timeoutMs = 120_000) {
      if (running()) return;
      const fd = openSync(logFile, 'a');
      expected = false;
      const child = Bun.spawn([process.execPath, join(repoRoot, APP_SCRIPTS[name])], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      proc = child;
      void child.exited.then((code) => {
        if (!expected && proc === child) unexpectedExits.push({ at: Date.now(), code });
      });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!running()) throw new Error(`${name} exited (code ${child.exitCode}) before it was ready; see ${logFile}`);
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
          if (res.ok) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`${name} was not ready within ${timeoutMs} ms; see ${logFile}`);
        await Bun.sleep(200);
      }
    },
    kill9Sync() {
      if (!running() || proc === undefined) return;
      expected = true;
      proc.kill('SIGKILL');
    },
    async kill9() {
      control.kill9Sync();
      await control.exited();
    },
    exited: async () => (proc === undefined ? null : proc.exited),
    async stop(timeoutMs = 15_000) {
      if (proc === undefined) return null;
      if (!running()) return proc.exitCode;
      expected = true;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc?.kill('SIGKILL'), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
  return control;
}
