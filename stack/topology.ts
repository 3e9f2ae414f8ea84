/**
 * The app processes of a topology, as the supervisor runs them:
 *  - single: `api-0`, `consumer-postgres-0`, `consumer-clickhouse-0` on the configured ports
 *    (the API on HTTP_PORT, consumers on PG_/CH_CONSUMER_METRICS_PORT);
 *  - cluster: `haproxy` on the public port, `api-<i>` behind it, `consumer-postgres-<i>` and
 *    `consumer-clickhouse-<i>` per group (layout.ts gives the ports).
 * Consumer instance i of the single topology listens on the configured metrics port + 2i, so a
 * group can be scaled there too.
 */
import { join } from 'node:path';
import type { Config } from '../src/kernel/config.ts';
import { START_NICE } from '../src/kernel/start-priority.ts';
import { haproxyCommand } from './cluster/haproxy.ts';
import type { ClusterLayout } from './cluster/layout.ts';
import { REPO_ROOT } from './paths.ts';
import type { ProcSpec, Supervisor } from './supervisor.ts';

export type AppGroup = 'haproxy' | 'api' | 'consumer-postgres' | 'consumer-clickhouse';
export const SCALABLE_GROUPS: readonly AppGroup[] = ['api', 'consumer-postgres', 'consumer-clickhouse'];

export interface Topology {
  readonly kind: 'single' | 'cluster';
  /** The API's address for clients (HAProxy in the cluster). */
  readonly publicUrl: string;
  /** Where process logs, pid and state files go. */
  readonly appDir: string;
  /** Groups and their instance counts at start, in start order. */
  readonly initial: ReadonlyArray<readonly [AppGroup, number]>;
  /** Stop order: HAProxy last so clients are served while instances drain. */
  readonly stopOrder: readonly AppGroup[];
  spec(group: AppGroup, index: number): ProcSpec;
}

const SCRIPTS: Record<Exclude<AppGroup, 'haproxy'>, string> = {
  api: join(REPO_ROOT, 'src/server.ts'),
  'consumer-postgres': join(REPO_ROOT, 'consumers/postgres/main.ts'),
  'consumer-clickhouse': join(REPO_ROOT, 'consumers/clickhouse/main.ts'),
};

/** Loopback for probes even when a process listens on 0.0.0.0. */
export const probeHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

function appSpec(
  group: Exclude<AppGroup, 'haproxy'>,
  index: number,
  port: number,
  host: string,
  env: Readonly<Record<string, string | undefined>>,
  appDir: string,
): ProcSpec {
  const name = `${group}-${index}`;
  const portVar = group === 'api' ? 'HTTP_PORT' : group === 'consumer-postgres' ? 'PG_CONSUMER_METRICS_PORT' : 'CH_CONSUMER_METRICS_PORT';
  return {
    name,
    group,
    argv: [process.execPath, SCRIPTS[group]],
    cwd: REPO_ROOT,
    env: { ...env, [portVar]: String(port), ...(group === 'api' ? { API_WORKERS: '1', API_WORKER_INDEX: String(index) } : {}) },
    logFile: join(appDir, 'logs', `${name}.log`),
    readyUrl: `http://${probeHost(host)}:${port}/readyz`,
    // A consumer starting (scale-out, crash restart) leaves the CPU to the members serving.
    ...(group === 'api' ? {} : { startNice: START_NICE }),
  };
}

export function singleTopology(config: Config, env: Readonly<Record<string, string | undefined>>, appDir: string): Topology {
  const host = probeHost(config.HTTP_HOST);
  return {
    kind: 'single',
    publicUrl: `http://${host}:${config.HTTP_PORT}`,
    appDir,
    initial: [
      ['api', 1],
      ['consumer-postgres', 1],
      ['consumer-clickhouse', 1],
    ],
    stopOrder: ['api', 'consumer-postgres', 'consumer-clickhouse'],
    spec(group, index) {
      if (group === 'haproxy') throw new Error('the single topology has no HAProxy');
      // One API per port here (API_WORKERS processes share it through SO_REUSEPORT).
      if (group === 'api') {
        const s = appSpec('api', index, config.HTTP_PORT + index, config.HTTP_HOST, env, appDir);
        const { API_WORKER_INDEX: _index, ...rest } = s.env;
        return { ...s, env: { ...rest, API_WORKERS: String(config.API_WORKERS) } };
      }
      const base = group === 'consumer-postgres' ? config.PG_CONSUMER_METRICS_PORT : config.CH_CONSUMER_METRICS_PORT;
      return appSpec(group, index, base + 2 * index, config.HTTP_HOST, env, appDir);
    },
  };
}

export function clusterTopology(
  layout: ClusterLayout,
  env: Readonly<Record<string, string | undefined>>,
  counts: { api: number; consumers: number },
  appDir = join(layout.dir, 'app'),
): Topology {
  return {
    kind: 'cluster',
    publicUrl: `http://127.0.0.1:${layout.publicPort}`,
    appDir,
    initial: [
      ['api', counts.api],
      ['haproxy', 1],
      ['consumer-postgres', counts.consumers],
      ['consumer-clickhouse', counts.consumers],
    ],
    stopOrder: ['consumer-postgres', 'consumer-clickhouse', 'api', 'haproxy'],
    spec(group, index) {
      if (group === 'haproxy') {
        return {
          name: 'haproxy',
          group,
          argv: haproxyCommand(layout, counts.api),
          cwd: layout.dir,
          env: { PATH: env.PATH },
          logFile: join(appDir, 'logs', 'haproxy.log'),
          readyUrl: `http://127.0.0.1:${layout.publicPort}/healthz`,
          stopSignal: 'SIGUSR1', // soft stop: finish open requests, then exit
        };
      }
      const port = group === 'api' ? layout.apiPort(index) : group === 'consumer-postgres' ? layout.pgConsumerPort(index) : layout.chConsumerPort(index);
      return appSpec(group, index, port, '127.0.0.1', env, appDir);
    },
  };
}

/** The spec of instance `index` of `group`, with `extraEnv` for the app processes (not HAProxy). */
export const specWith = (topology: Topology, extraEnv: Readonly<Record<string, string>>) => (group: AppGroup, index: number): ProcSpec => {
  const s = topology.spec(group, index);
  return group === 'haproxy' ? s : { ...s, env: { ...s.env, ...extraEnv } };
};

/**
 * Starts the topology's initial processes under `supervisor`: the APIs first and ready (HAProxy
 * health-checks them), then the rest. Resolves when every process answers its ready URL.
 */
export async function launchTopology(supervisor: Supervisor, topology: Topology, extraEnv: Readonly<Record<string, string>>, readyTimeoutMs = 120_000): Promise<void> {
  const spec = specWith(topology, extraEnv);
  for (const [group, n] of topology.initial) {
    for (let i = 0; i < n; i++) supervisor.add(spec(group, i));
    if (group === 'api') await Promise.all(supervisor.names('api').map((name) => supervisor.waitReady(name, readyTimeoutMs)));
  }
  await Promise.all(supervisor.names().map((n) => supervisor.waitReady(n, readyTimeoutMs)));
}
