/**
 * The cluster topology's servers: three Kafka brokers, the Postgres primary and its streaming
 * standby, one ClickHouse. Started and stopped like the single-node stack (same service life
 * cycle, pid files, logs), from the cluster's own folder and ports (layout.ts). The app
 * processes and HAProxy are the supervisor's (stack/topology.ts).
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import type { Config, Env } from '../../src/kernel/config.ts';
import { AppError } from '../../src/kernel/errors.ts';
import { clickhouseService } from '../clickhouse.ts';
import { prepareStackCredentials } from '../index.ts';
import { pollUntil } from '../deadline.ts';
import { aptInstall, installStack, kafkaLibsDir } from '../install.ts';
import { withStackLock } from '../lock.ts';
import { seconds, type StackLog } from '../log.ts';
import { postgresService } from '../postgres.ts';
import { servicePaths } from '../paths.ts';
import { type ServiceDefinition, type ServiceStatus, serviceStatus, startService, stopService } from '../service.ts';
import { haproxyInstalled } from './haproxy.ts';
import { brokerService, probeAdmin } from './kafka-brokers.ts';
import { type ClusterLayout, clusterEnv } from './layout.ts';
import { standbyService } from './postgres-standby.ts';

export interface ClusterServices {
  readonly brokers: readonly ServiceDefinition<string>[];
  readonly primary: ServiceDefinition<string>;
  readonly standby: ServiceDefinition<string>;
  readonly clickhouse: ServiceDefinition<string>;
}

/**
 * clusterEnv for an entry point that starts the cluster: the cluster's credentials file first
 * (prepareStackCredentials), so the environment, READ_DATABASE_URL included, carries its passwords.
 */
export function clusterStartEnv(env: Env, layout: ClusterLayout, log?: StackLog): Record<string, string> {
  prepareStackCredentials(clusterEnv(env, layout), log);
  return clusterEnv(env, layout);
}

export function clusterServices(config: Config, layout: ClusterLayout): ClusterServices {
  return {
    brokers: layout.brokers.map((b) => brokerService(config, layout, b)),
    primary: postgresService(config),
    standby: standbyService(config, layout),
    clickhouse: clickhouseService(config),
  };
}

const all = (s: ClusterServices) => [...s.brokers, s.primary, s.standby, s.clickhouse];

/**
 * Reuses the single-node stack's downloaded Kafka jars (a symlink) when there are some, then
 * installs what is still missing (HAProxy included).
 */
async function installCluster(config: Config, sharedKafkaLibs: string | undefined, log: StackLog): Promise<void> {
  const libs = kafkaLibsDir(config);
  if (sharedKafkaLibs !== undefined && existsSync(sharedKafkaLibs) && !existsSync(libs)) {
    mkdirSync(servicePaths(config, 'kafka').home, { recursive: true });
    symlinkSync(sharedKafkaLibs, libs);
  }
  await installStack(config, log);
  if (!haproxyInstalled()) {
    if (!config.AUTO_INSTALL) throw new AppError('STACK_FAILED', 'HAProxy is missing and AUTO_INSTALL=false: apt-get install haproxy');
    log.info('installing HAProxy with apt-get…');
    await aptInstall(['haproxy'], log);
  }
}

async function startAll(defs: readonly ServiceDefinition<string>[], log: StackLog, timeoutMs: number): Promise<void> {
  const settled = await Promise.allSettled(defs.map((d) => startService(d, log, timeoutMs)));
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    throw new AppError('STACK_FAILED', `The cluster did not start:\n${failures.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n')}`, {
      cause: failures[0],
    });
  }
}

/** Waits until every broker is registered (a topic with replication 3 needs all three). */
async function waitForBrokers(layout: ClusterLayout, timeoutMs: number): Promise<void> {
  await pollUntil(
    'all Kafka brokers registered',
    async () => {
      const admin = probeAdmin(layout.brokers.map((b) => b.port));
      try {
        await admin.connect();
        const c = await admin.describeCluster();
        if (c.brokers.length < layout.brokers.length) throw new Error(`${c.brokers.length} of ${layout.brokers.length} brokers registered`);
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Installs what is missing, starts brokers, primary and ClickHouse, then the standby. */
export async function startCluster(config: Config, layout: ClusterLayout, log: StackLog, sharedKafkaLibs?: string): Promise<number> {
  const started = Date.now();
  return withStackLock(layout.dir, config.STACK_START_TIMEOUT_MS * 2, log, async () => {
    await installCluster(config, sharedKafkaLibs, log);
    const s = clusterServices(config, layout);
    await startAll([...s.brokers, s.primary, s.clickhouse], log, config.STACK_START_TIMEOUT_MS);
    await startAll([s.standby], log, config.STACK_START_TIMEOUT_MS);
    await waitForBrokers(layout, config.STACK_START_TIMEOUT_MS);
    log.info(`cluster servers ready in ${seconds(Date.now() - started)}`);
    return Date.now() - started;
  });
}

/** Stops what the cluster started (standby first, then the rest in parallel). Data stays. */
export async function stopCluster(config: Config, layout: ClusterLayout, log: StackLog): Promise<void> {
  await withStackLock(layout.dir, 120_000, log, async () => {
    const s = clusterServices(config, layout);
    await stopService(s.standby, log, 30_000);
    await Promise.all([...s.brokers, s.primary, s.clickhouse].map((d) => stopService(d, log, 30_000)));
  });
}

export function clusterStatus(config: Config, layout: ClusterLayout): Promise<ServiceStatus[]> {
  return Promise.all(all(clusterServices(config, layout)).map((d) => serviceStatus(d)));
}
