/**
 * Real-ClickHouse helpers for the analytics tests: a fresh database per test file with the
 * project's migrations applied (split exactly as clickhouse-migrations splits them), dropped
 * by the cleanup registered where it is made.
 */
import { afterAll } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql_queries, sql_sets } from 'clickhouse-migrations/lib/sql-parse';
import { createClickHouseClient, type ClickHouseClient } from '../../../src/kernel/clickhouse/client.ts';
import { loadConfig } from '../../../src/kernel/config.ts';

export const testConfig = loadConfig(process.env);
export const MIGRATIONS_DIR = join(import.meta.dir, '../../../migrations/clickhouse');

/** A client with no default database (tables are always qualified, as in production). */
export const testClickHouse: ClickHouseClient = createClickHouseClient(testConfig, { application: 'session-pipeline.test' });

/** The migration files in the order clickhouse-migrations applies them (numeric prefix). */
export function migrationFiles(dir = MIGRATIONS_DIR): { version: number; file: string; sql: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => ({ version: Number(file.split('_')[0]), file, sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Creates `test_<prefix>_<random>`, applies the migrations in it, and drops it after the file's
 * tests. Call it at module level (top-level await), where `afterAll` registers on the file.
 */
export async function freshDatabase(prefix: string): Promise<string> {
  const database = `test_${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await testClickHouse.command({ query: `CREATE DATABASE ${database}` });
  afterAll(async () => {
    await testClickHouse.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  });
  const scoped = clientFor(database);
  try {
    for (const migration of migrationFiles()) {
      for (const query of sql_queries(migration.sql)) {
        await scoped.command({ query, clickhouse_settings: sql_sets(migration.sql) });
      }
    }
  } finally {
    await scoped.close();
  }
  return database;
}

/** A client whose unqualified table names resolve in `database` (as an analyst's session does). */
export function clientFor(database: string): ClickHouseClient {
  return createClickHouseClient(testConfig, { application: 'session-pipeline.test', database });
}

/** Rows of a query, 64-bit integers as JSON numbers. */
export async function select<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  return result.json<T>();
}

/** A `session_events` row as the tests select it (instants as epoch milliseconds). */
export interface StoredEventRow {
  event_id: string;
  session_id: string;
  user_id: string;
  outcome: string;
  score: number | null;
  duration_ms: number;
  started_at: number;
  completed_at: number;
  received_at: number;
  client_to_api_lag_ms: number;
  api_to_analytics_lag_ms: number;
  ingested_at_ms: number;
}
