/** What every scenario gets from the runner: settings, clients, names and the places to write. */
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import type { ClickHouseClient } from '../../src/kernel/clickhouse/client.ts';
import type { Config } from '../../src/kernel/config.ts';
import type { ScenarioResult, SystemId } from './results.ts';

export interface Durations {
  readonly warmupS: number;
  /** seed's own warm-up at its rate: a new API and consumers answer slower for their first ~20 s (JIT). */
  readonly seedWarmupS: number;
  readonly seedS: number;
  readonly maxS: number;
  readonly steadyS: number;
  readonly realisticS: number;
  readonly paced25kS: number;
  /** Idle scenario: the watch with no traffic. */
  readonly idleS: number;
  /** Each point of the cost curve. */
  readonly costS: number;
  /** Longest wait for consumer lag to reach zero after a load. */
  readonly drainDeadlineS: number;
}

export const FULL: Durations = { warmupS: 3, seedWarmupS: 30, seedS: 60, maxS: 30, steadyS: 60, realisticS: 30, paced25kS: 20, idleS: 30, costS: 20, drainDeadlineS: 120 };
export const QUICK: Durations = { warmupS: 1, seedWarmupS: 2, seedS: 10, maxS: 5, steadyS: 10, realisticS: 8, paced25kS: 5, idleS: 10, costS: 6, drainDeadlineS: 60 };

export interface BenchContext {
  readonly config: Config;
  readonly quick: boolean;
  readonly durations: Durations;
  readonly oha: string;
  readonly outDir: string;
  readonly logDir: string;
  /** Short unique tag of this run: part of every topic, group, schema and database it makes. */
  readonly runTag: string;
  readonly admin: Admin;
  readonly pgAdmin: pg.ClientBase;
  readonly ch: ClickHouseClient;
  readonly stackPids: Readonly<Partial<Record<'kafka' | 'postgres' | 'clickhouse', number>>>;
  /** The run's API key (ingest + read) and the API_KEYS entry holding its hash. */
  readonly apiKey: string;
  readonly apiKeysEntry: string;
  readonly apiWorkers: number;
  /** Systems to run in each scenario: the API and the baselines asked for. */
  readonly systems: readonly SystemId[];
  /** Request bodies for oha (-Z), one per line: distinct users, valid for the whole run. */
  readonly bodiesFile: string;
  /** Realistic traffic: target rate and concurrent loops of the load generator. */
  readonly realisticRate: number;
  readonly realisticConcurrency: number;
  readonly keep: boolean;
  /** --cpu-prof: the API and consumers run under `bun --cpu-prof`, profiles written here. */
  readonly cpuProfileDir?: string;
  log(line: string): void;
  /** Registers clean-up (topics, schemas, databases) run at the end, last registered first. */
  onCleanup(fn: () => Promise<void>): void;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** Not in the default set (long, or figures of another issue). */
  readonly optIn?: boolean;
  run(ctx: BenchContext): Promise<ScenarioResult[]>;
}
