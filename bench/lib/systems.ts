/**
 * Starting each system under test for one measured run: the API (with its scenario's isolated
 * pipeline, and the consumers when the scenario needs them) or one of the baselines, each as
 * its own process on a free loopback port, plus the process groups to watch while it runs.
 */
import { join } from 'node:path';
import type { BenchContext } from './context.ts';
import { type PipelineStores, type RunningPipeline, createPipelineStores, pipelineNames, startPipeline } from './pipeline.ts';
import type { WatchedGroup } from './proc.ts';
import type { SystemId } from './results.ts';
import { freePort } from '../../scripts/lib/net.ts';
import { type Target, startTarget } from './targets.ts';
import { createTopicsAndWait } from '../../src/kernel/kafka/topics.ts';

export interface RunningSystem {
  readonly system: SystemId;
  readonly url: string;
  readonly groups: readonly WatchedGroup[];
  /** Set for the API: its pipeline and stores. */
  readonly pipeline?: RunningPipeline;
  readonly stores?: PipelineStores;
  stop(): Promise<void>;
}

/** Kafka, Postgres (postmaster and every backend) and ClickHouse: watched in every run. */
export function stackGroups(ctx: BenchContext): WatchedGroup[] {
  const out: WatchedGroup[] = [];
  const { kafka, postgres, clickhouse } = ctx.stackPids;
  if (kafka) out.push({ name: 'kafka', pid: kafka, tree: true });
  if (postgres) out.push({ name: 'postgres', pid: postgres, tree: true });
  if (clickhouse) out.push({ name: 'clickhouse', pid: clickhouse, tree: true });
  return out;
}

const own = (t: Target): WatchedGroup => ({ name: t.name, pid: t.pid, tree: true, startedForRun: true });

let nodeTopic: Promise<string> | undefined;

export async function startSystem(
  ctx: BenchContext,
  system: SystemId,
  scenario: string,
  opts: { consumers?: boolean } = {},
): Promise<RunningSystem> {
  const logFile = join(ctx.logDir, `${scenario}.${system}.log`);
  switch (system) {
    case 'api': {
      const stores = await createPipelineStores(ctx.config, ctx, pipelineNames(ctx.runTag, scenario));
      if (!ctx.keep) ctx.onCleanup(() => stores.drop());
      const pipeline = await startPipeline({
        stores,
        consumers: opts.consumers ?? false,
        apiWorkers: ctx.apiWorkers,
        apiKeysEntry: ctx.apiKeysEntry,
        logDir: ctx.logDir,
        label: scenario,
        ...(ctx.cpuProfileDir ? { cpuProfileDir: ctx.cpuProfileDir } : {}),
      });
      return {
        system,
        url: pipeline.api.url,
        groups: [own(pipeline.api), ...pipeline.consumers.map(own), ...stackGroups(ctx)],
        pipeline,
        stores,
        stop: () => pipeline.stop(),
      };
    }
    case 'bare': {
      const port = await freePort();
      const t = await startTarget('bare', [process.execPath, 'bench/baselines/bare-bun.ts', String(port)], {
        url: `http://127.0.0.1:${port}`,
        readyPath: '/',
        logFile,
      });
      return { system, url: t.url, groups: [own(t), ...stackGroups(ctx)], stop: async () => void (await t.stop()) };
    }
    case 'sync-pg': {
      const port = await freePort();
      const schema = `bench_${ctx.runTag}_${scenario}_syncpg`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      if (!ctx.keep) ctx.onCleanup(async () => void (await ctx.pgAdmin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)));
      const t = await startTarget('sync-pg', [process.execPath, 'bench/baselines/sync-postgres.ts', String(port), schema], {
        url: `http://127.0.0.1:${port}`,
        readyPath: '/healthz',
        logFile,
      });
      return { system, url: t.url, groups: [own(t), ...stackGroups(ctx)], stop: async () => void (await t.stop()) };
    }
    case 'node-kafkajs': {
      nodeTopic ??= (async () => {
        const topic = `bench.${ctx.runTag}.node-kafkajs`;
        await createTopicsAndWait(ctx.admin, [{ topic, numPartitions: ctx.config.KAFKA_TOPIC_PARTITIONS }]);
        if (!ctx.keep) ctx.onCleanup(async () => void (await ctx.admin.deleteTopics({ topics: [topic] }).catch(() => undefined)));
        return topic;
      })();
      const topic = await nodeTopic;
      const port = await freePort();
      const t = await startTarget('node-kafkajs', ['/usr/bin/node', 'bench/baselines/node-kafkajs.mjs', String(port), topic, ctx.config.KAFKA_BROKERS.join(',')], {
        url: `http://127.0.0.1:${port}`,
        readyPath: '/healthz',
        logFile,
      });
      return { system, url: t.url, groups: [own(t), ...stackGroups(ctx)], stop: async () => void (await t.stop()) };
    }
    default: {
      const never: never = system;
      throw new Error(`unknown system ${String(never)}`);
    }
  }
}
