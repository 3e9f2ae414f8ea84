/**
 * The system under test, isolated per scenario: a fresh topic (and its dead-letter topic),
 * fresh consumer groups, a fresh Postgres schema with the read model's tables and a fresh
 * ClickHouse database with the analytics tables, so a scenario's rows are exactly its own and
 * the real read model is never touched. The API and both consumers run as child processes
 * (the same entry points as production) pointed at them through their environment, on ports
 * nothing else uses. Everything made here is removed by `drop()` (unless kept).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import { sql_queries } from 'clickhouse-migrations/lib/sql-parse';
import { createReadModelSchema, dropSchema } from '../../consumers/postgres/schema.ts';
import type { ClickHouseClient } from '../../src/kernel/clickhouse/client.ts';
import { createClickHouseClient } from '../../src/kernel/clickhouse/client.ts';
import type { Config } from '../../src/kernel/config.ts';
import { ensureTopics } from '../../src/kernel/kafka/topics.ts';
import { freePort } from '../../scripts/lib/net.ts';
import { type Target, startTarget } from './targets.ts';

export interface PipelineNames {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly pgGroup: string;
  readonly chGroup: string;
  /** Postgres schema and ClickHouse database (same name). */
  readonly store: string;
}

/** Names for one scenario of one run: lower-case, safe as topic, schema and database names. */
export function pipelineNames(runTag: string, scenario: string): PipelineNames {
  const base = `bench_${runTag}_${scenario}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const topic = `bench.${runTag}.${scenario}`;
  return { topic, dlqTopic: `${topic}.dlq`, pgGroup: `${topic}.postgres`, chGroup: `${topic}.clickhouse`, store: base };
}

export interface PipelineStores {
  readonly names: PipelineNames;
  /** DATABASE_URL whose connections use the scenario's schema. */
  readonly databaseUrl: string;
  drop(): Promise<void>;
}

export async function createPipelineStores(
  config: Config,
  deps: { admin: Admin; pgAdmin: pg.ClientBase; ch: ClickHouseClient },
  names: PipelineNames,
): Promise<PipelineStores> {
  // A fresh (private) broker on a busy machine can answer the first metadata requests for a new
  // topic with UNKNOWN_TOPIC_OR_PARTITION for a while: retry what kafkajs calls retriable.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(deps.admin, { topic: names.topic, partitions: config.KAFKA_TOPIC_PARTITIONS, dlqTopic: names.dlqTopic, retentionMs: 24 * 3600 * 1000 });
      break;
    } catch (error) {
      if (attempt >= 20 || !(error as { retriable?: boolean }).retriable) throw error;
      await Bun.sleep(1_000);
    }
  }
  await createReadModelSchema(deps.pgAdmin, names.store);
  await deps.ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${names.store}` });
  const scoped = createClickHouseClient(config, { database: names.store });
  try {
    const dir = join(import.meta.dir, '../../migrations/clickhouse');
    const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort((a, b) => parseInt(a) - parseInt(b));
    for (const file of files) {
      for (const query of sql_queries(readFileSync(join(dir, file), 'utf8'))) await scoped.command({ query });
    }
  } finally {
    await scoped.close();
  }
  const url = new URL(config.DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${names.store}`);
  return {
    names,
    databaseUrl: url.toString(),
    async drop() {
      await deps.admin.deleteGroups([names.pgGroup, names.chGroup]).catch(() => undefined);
      await deps.admin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
      await dropSchema(deps.pgAdmin, names.store).catch(() => undefined);
      await deps.ch.command({ query: `DROP DATABASE IF EXISTS ${names.store}` }).catch(() => undefined);
    },
  };
}

export interface RunningPipeline {
  readonly api: Target;
  readonly consumers: readonly Target[];
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts the API (and, when asked, both consumers) against the scenario's stores. The API runs
 * in production mode with access control on, with one key minted for the run.
 */
export async function startPipeline(opts: {
  stores: PipelineStores;
  consumers: boolean;
  apiWorkers: number;
  apiKeysEntry: string;
  logDir: string;
  label: string;
  /** Run the API and consumers under `bun --cpu-prof` (profiles written here on exit). */
  cpuProfileDir?: string;
}): Promise<RunningPipeline> {
  const { names } = opts.stores;
  const [apiPort, pgPort, chPort] = [await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    APP_ENV: 'production',
    // The native stack is one broker: the production-safety check would refuse its topic.
    KAFKA_ALLOW_UNREPLICATED: 'true',
    API_KEYS: opts.apiKeysEntry,
    LOG_LEVEL: 'warn',
    KAFKA_TOPIC: names.topic,
    KAFKA_DLQ_TOPIC: names.dlqTopic,
    PG_CONSUMER_GROUP: names.pgGroup,
    CH_CONSUMER_GROUP: names.chGroup,
    DATABASE_URL: opts.stores.databaseUrl,
    CLICKHOUSE_DATABASE: names.store,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(apiPort),
    PG_CONSUMER_METRICS_PORT: String(pgPort),
    CH_CONSUMER_METRICS_PORT: String(chPort),
    API_WORKERS: String(opts.apiWorkers),
  };
  const bun = process.execPath;
  const prof = (name: string): string[] =>
    opts.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${opts.cpuProfileDir}`, `--cpu-prof-name=${opts.label}.${name}`] : [];
  const consumers: Target[] = [];
  try {
    if (opts.consumers) {
      consumers.push(
        ...(await Promise.all([
          startTarget('consumer-postgres', [bun, ...prof('consumer-postgres'), 'consumers/postgres/main.ts'], {
            url: `http://127.0.0.1:${pgPort}`,
            readyPath: '/readyz',
            env,
            logFile: join(opts.logDir, `${opts.label}.consumer-postgres.log`),
          }),
          startTarget('consumer-clickhouse', [bun, ...prof('consumer-clickhouse'), 'consumers/clickhouse/main.ts'], {
            url: `http://127.0.0.1:${chPort}`,
            readyPath: '/readyz',
            env,
            logFile: join(opts.logDir, `${opts.label}.consumer-clickhouse.log`),
          }),
        ])),
      );
    }
    const api = await startTarget('api', [bun, ...prof('api'), 'src/server.ts'], {
      url: `http://127.0.0.1:${apiPort}`,
      readyPath: '/readyz',
      env,
      logFile: join(opts.logDir, `${opts.label}.api.log`),
    });
    return {
      api,
      consumers,
      env,
      async stop() {
        await api.stop();
        await Promise.all(consumers.map((c) => c.stop()));
      },
    };
  } catch (error) {
    await Promise.all(consumers.map((c) => c.stop()));
    throw error;
  }
}
