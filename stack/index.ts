/**
 * The native stack's programmatic API (the CLI, scripts/system.ts and scripts/test.ts use it):
 * Kafka, Postgres and ClickHouse installed on first use and run from <STACK_DIR>.
 */
import { existsSync, rmSync } from 'node:fs';
import { type Config, type Env, loadConfig, stackCredentialsPath } from '../src/kernel/config.ts';
import { AppError } from '../src/kernel/errors.ts';
import { clickhouseService } from './clickhouse.ts';
import { ensureStackCredentials } from './credentials.ts';
import { installStack } from './install.ts';
import { kafkaService } from './kafka.ts';
import { withStackLock } from './lock.ts';
import { consoleStackLog, seconds, type StackLog } from './log.ts';
import { stackDir } from './paths.ts';
import { postgresService } from './postgres.ts';
import { inspectPidFile } from './process.ts';
import {
  type ServiceDefinition,
  type ServiceStartResult,
  type ServiceStatus,
  type ServiceStopResult,
  serviceStatus,
  startService,
  stopService,
} from './service.ts';

export type { StackLog } from './log.ts';
export { consoleStackLog, silentStackLog } from './log.ts';
export type { ServiceStatus } from './service.ts';
export { installStack } from './install.ts';
export { stackDir } from './paths.ts';

export const stackServices = (config: Config): ServiceDefinition[] => [
  kafkaService(config),
  postgresService(config),
  clickhouseService(config),
];

const STOP_TIMEOUT_MS = 30_000;

/**
 * For an entry point that starts the stack `env` describes: makes the stack's credentials file
 * (stack/credentials.ts) when there is none, so the configuration it loads, and thereby the
 * servers' users, carry the generated passwords. Call it before loading that configuration.
 *
 * Not while its Postgres or ClickHouse runs: a stack started before the file existed keeps its
 * old passwords until its next start (a running ClickHouse would keep them, and every process
 * already talking to it too); the file is made then.
 */
export function prepareStackCredentials(env: Env, log: StackLog = consoleStackLog()): void {
  const config = loadConfig(env);
  const dir = stackDir(config);
  if (existsSync(stackCredentialsPath(dir))) return;
  const running = [postgresService(config), clickhouseService(config)].filter((d) =>
    [d.paths.pidFile, ...(d.serverLockFiles ?? [])].some((f) => inspectPidFile(f, d.matches).state === 'running'),
  );
  if (running.length > 0) {
    log.warn(
      `${running.map((d) => d.name).join(' and ')} of ${dir} run with the fixed passwords of a stack made before ` +
        `${stackCredentialsPath(dir)} existed; they switch to generated ones at the stack's next start (npm run stack -- stop, then start)`,
    );
    return;
  }
  const made = ensureStackCredentials(dir);
  if (made.created) log.info(`generated this stack's passwords: ${made.file} (npm run stack -- credentials)`);
}

/** `prepareStackCredentials(env)`, then the configuration: what an entry point that starts the stack loads. */
export function loadStackConfig(env: Env, log?: StackLog): Config {
  prepareStackCredentials(env, log);
  return loadConfig(env);
}

export interface StackStartResult {
  readonly installMs: number;
  readonly totalMs: number;
  readonly services: readonly ServiceStartResult[];
}

/**
 * Installs what is missing, then starts the three services in parallel (they are independent)
 * and waits until each answers a real request. Already-running services are kept. Throws an
 * AppError STACK_FAILED naming each failed service and its log.
 */
export async function startStack(config: Config, log: StackLog): Promise<StackStartResult> {
  const started = Date.now();
  return withStackLock(stackDir(config), config.STACK_START_TIMEOUT_MS, log, async () => {
    const installMs = await installStack(config, log);
    const services = stackServices(config);
    const settled = await Promise.allSettled(services.map((s) => startService(s, log, config.STACK_START_TIMEOUT_MS)));
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) {
      const message = failures.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n');
      throw new AppError('STACK_FAILED', `The stack did not start:\n${message}`, {
        cause: failures[0],
        details: { services: failures.map((e) => (e instanceof AppError ? e.details?.service : undefined)) },
      });
    }
    const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const totalMs = Date.now() - started;
    log.info(`stack ready in ${seconds(totalMs)} (${results.every((r) => r.alreadyRunning) ? 'was already running' : 'started'})`);
    return { installMs, totalMs, services: results };
  });
}

export interface StackStopResult {
  readonly totalMs: number;
  readonly services: readonly ServiceStopResult[];
}

/** Stops the services this stack started (only those), in parallel. Data stays. */
export async function stopStack(config: Config, log: StackLog): Promise<StackStopResult> {
  const started = Date.now();
  return withStackLock(stackDir(config), STOP_TIMEOUT_MS * 2, log, async () => {
    const services = await Promise.all(stackServices(config).map((s) => stopService(s, log, STOP_TIMEOUT_MS)));
    return { totalMs: Date.now() - started, services };
  });
}

export function stackStatus(config: Config): Promise<ServiceStatus[]> {
  return Promise.all(stackServices(config).map((s) => serviceStatus(s)));
}

/** Stops the stack and deletes its data, logs, generated config and credentials file (the downloaded jars stay). */
export async function resetStack(config: Config, log: StackLog): Promise<string[]> {
  await stopStack(config, log);
  const deleted: string[] = [];
  for (const s of stackServices(config)) {
    for (const path of [s.paths.data, `${s.paths.data}.formatting`, `${s.paths.data}.initdb`, s.paths.logs]) {
      if (!existsSync(path)) continue;
      log.info(`deleting ${path}`);
      rmSync(path, { recursive: true, force: true });
      deleted.push(path);
    }
  }
  // The passwords go with the data: the next start makes new ones (and a new role and users).
  const credentials = stackCredentialsPath(stackDir(config));
  if (existsSync(credentials)) {
    log.info(`deleting ${credentials}`);
    rmSync(credentials, { force: true });
    deleted.push(credentials);
  }
  return deleted;
}
