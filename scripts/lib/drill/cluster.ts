/**
 * The drill's cluster: the cluster topology of `npm run up -- --cluster` (stack/cluster,
 * stack/topology.ts), but in a temp folder on a free port range, so it never meets the shared
 * stack or a cluster a person runs. Same servers, same supervisor, same HAProxy config.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../../src/kernel/config.ts';
import { ensureConfiguredTopics } from '../../../src/kernel/kafka/topics.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { clusterServices, clusterStartEnv, startCluster, stopCluster, type ClusterServices } from '../../../stack/cluster/index.ts';
import { type ClusterLayout, clusterLayout, layoutPorts } from '../../../stack/cluster/layout.ts';
import { kafkaLibsDir } from '../../../stack/install.ts';
import type { StackLog } from '../../../stack/log.ts';
import { inspectPidFile, portIsFree } from '../../../stack/process.ts';
import { Supervisor } from '../../../stack/supervisor.ts';
import { clusterTopology, launchTopology, specWith, type Topology } from '../../../stack/topology.ts';
import { migrate } from '../migrate.ts';

export interface DrillCluster {
  readonly dir: string;
  readonly layout: ClusterLayout;
  readonly config: Config;
  readonly env: Record<string, string>;
  readonly topology: Topology;
  readonly supervisor: Supervisor;
  readonly services: ClusterServices;
  readonly spec: ReturnType<typeof specWith>;
  /** Pid of a server (broker, Postgres, standby, ClickHouse) from its pid file. */
  serverPid(name: string): number | undefined;
  dispose(): Promise<void>;
}

/**
 * A port base whose whole range is free right now: 21000, 22000, ... 28000, below Linux's
 * ephemeral range (32768+), where an outgoing connection could take a port a consumer scaled
 * up later wants to listen on (seen: EADDRINUSE on a third consumer's metrics port).
 */
async function freeBase(): Promise<number> {
  for (let base = 21_000; base <= 28_000; base += 1_000) {
    const ports = layoutPorts(clusterLayout({ base, publicPort: base + 300 }));
    const free = await Promise.all(ports.map((p) => portIsFree(p)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free port range for the drill cluster (tried bases 21000-28000)');
}

export async function launchDrillCluster(
  shared: Config,
  options: { api: number; consumers: number; env: Record<string, string>; log: StackLog; keepDir?: boolean },
  onCreated: (c: DrillCluster) => void,
): Promise<DrillCluster> {
  const base = await freeBase();
  // Short: the Postgres socket path must stay under 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'drill-'));
  const layout = clusterLayout({ base, publicPort: base + 300, dir });
  const env = { ...clusterStartEnv(process.env, layout, options.log), ...options.env };
  const config = loadConfig(env);
  const topology = clusterTopology(layout, env, { api: options.api, consumers: options.consumers });
  const supervisor = new Supervisor({ log: options.log, output: 'file' });
  const services = clusterServices(config, layout);
  const all = [...services.brokers, services.primary, services.standby, services.clickhouse];
  let disposed: Promise<void> | undefined;
  const cluster: DrillCluster = {
    dir,
    layout,
    config,
    env,
    topology,
    supervisor,
    services,
    spec: specWith(topology, {}),
    serverPid(name) {
      const def = all.find((d) => d.name === name);
      if (def === undefined) return undefined;
      const state = inspectPidFile(def.paths.pidFile, def.matches);
      return state.state === 'running' ? state.pid : undefined;
    },
    dispose: () =>
      (disposed ??= (async () => {
        await supervisor.stopAll(topology.stopOrder).catch(() => undefined);
        await stopCluster(config, layout, options.log).catch(() => undefined);
        // A server killed by the drill and not restarted (a failed phase) may still hold a pid.
        for (const d of all) {
          const pid = cluster.serverPid(d.name);
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        }
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      })()),
  };
  onCreated(cluster);
  await startCluster(config, layout, options.log, kafkaLibsDir(shared));
  await migrate(config, options.log);
  await ensureConfiguredTopics(config, silentLogger());
  await launchTopology(supervisor, topology, {});
  return cluster;
}
