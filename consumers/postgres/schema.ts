/**
 * Creates the read model's tables in a schema of our choosing from the same migration files
 * dbmate applies (their `-- migrate:up` sections, in file-name order). Used where a fresh,
 * isolated copy is needed: integration tests, the benchmark and the rebuild.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

export const MIGRATIONS_DIR = join(import.meta.dir, '../../migrations/postgres');

/** The `-- migrate:up` section of a dbmate migration file. */
export function upSection(sql: string): string {
  const up = sql.indexOf('-- migrate:up');
  if (up < 0) throw new Error('no "-- migrate:up" section');
  const down = sql.indexOf('-- migrate:down', up);
  return sql.slice(up + '-- migrate:up'.length, down < 0 ? undefined : down).trim();
}

export function migrationUpStatements(dir = MIGRATIONS_DIR): Array<{ file: string; sql: string }> {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({ file, sql: upSection(readFileSync(join(dir, file), 'utf8')) }));
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(name: string): string {
  if (!SCHEMA_NAME.test(name)) throw new Error(`not a plain schema name: ${name}`);
  return name;
}

/** A schema name unique enough for a test or a run: prefix + time + random. */
export function scratchSchemaName(prefix: string): string {
  return assertSchemaName(`${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`);
}

/** CREATE SCHEMA and the read model's tables in it, in one transaction. */
export async function createReadModelSchema(client: pg.ClientBase, schema: string): Promise<void> {
  assertSchemaName(schema);
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    for (const { sql } of migrationUpStatements()) await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

export async function dropSchema(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${assertSchemaName(schema)} CASCADE`);
}
