/** scripts/lib/migrate.ts against the native stack, on a scratch Postgres schema and ClickHouse database. */
import { expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import pg from 'pg';
import { loadConfig } from '../../../src/kernel/config.ts';
import { migrate } from '../../../scripts/lib/migrate.ts';
import { silentStackLog } from '../../../stack/log.ts';
import { registerCleanups } from '../../support/cleanups.ts';

const config = loadConfig(process.env);
const runId = randomUUID().slice(0, 8);
const cleanups = registerCleanups('file');

test('applies Postgres and ClickHouse migrations once, then reports them up to date', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-int-'));
  const schema = `migrate_int_${runId}`;
  const chDatabase = `migrate_int_${runId}`;
  const migrationConfig = loadConfig({
    ...process.env,
    DATABASE_URL: `${config.DATABASE_URL}${config.DATABASE_URL.includes('?') ? '&' : '?'}search_path=${schema}`,
    CLICKHOUSE_DATABASE: chDatabase,
  });
  const pgClient = new pg.Client({ connectionString: config.DATABASE_URL });
  await pgClient.connect();
  const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
  cleanups.push(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pgClient.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pgClient.end();
    await ch.command({ query: `DROP DATABASE IF EXISTS ${chDatabase}` });
    await ch.close();
  });
  const pgDir = join(dir, 'postgres');
  const chDir = join(dir, 'clickhouse');
  for (const d of [pgDir, chDir]) mkdirSync(d, { recursive: true });
  writeFileSync(
    join(pgDir, '20260101000001_widgets.sql'),
    '-- migrate:up\nCREATE TABLE widgets (id int PRIMARY KEY);\nINSERT INTO widgets VALUES (1), (2);\n-- migrate:down\nDROP TABLE widgets;\n',
  );
  writeFileSync(join(chDir, '1_widgets.sql'), '-- widgets\nCREATE TABLE widgets (id UInt32) ENGINE = MergeTree ORDER BY id;\n');
  writeFileSync(join(chDir, '2_widget_rows.sql'), 'INSERT INTO widgets VALUES (1), (2), (3);\n');

  const first = await migrate(migrationConfig, silentStackLog, { postgresDir: pgDir, clickhouseDir: chDir });
  expect(first.postgres).toEqual(['20260101000001_widgets.sql']);
  expect(first.clickhouse).toEqual(['1_widgets.sql', '2_widget_rows.sql']);
  const second = await migrate(migrationConfig, silentStackLog, { postgresDir: pgDir, clickhouseDir: chDir });
  expect([second.postgres, second.clickhouse]).toEqual([[], []]);

  // Ran once: the inserts are not doubled.
  expect((await pgClient.query(`SELECT count(*)::int AS n FROM ${schema}.widgets`)).rows).toEqual([{ n: 2 }]);
  const rs = await ch.query({ query: `SELECT count() AS n FROM ${chDatabase}.widgets`, format: 'JSONEachRow' });
  expect(await rs.json()).toEqual([{ n: '3' }]);
}, 60_000);

test('a ClickHouse migration named like a dbmate timestamp is refused with a message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-int-bad-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '20260101000001_x.sql'), 'SELECT 1;\n');
  const empty = mkdtempSync(join(tmpdir(), 'migrate-int-empty-'));
  cleanups.push(async () => rmSync(empty, { recursive: true, force: true }));
  await expect(migrate(config, silentStackLog, { postgresDir: empty, clickhouseDir: dir })).rejects.toThrow(
    /20260101000001_x\.sql: a ClickHouse migration is named <number>_<name>\.sql/,
  );
}, 60_000);
