/**
 * The native stack's generated passwords (stack/credentials.ts, issue 14) on real servers: a
 * private Postgres and ClickHouse (own STACK_DIR and ports; the shared stack is never restarted)
 * and the real API against them and the shared broker.
 *
 * Postgres starts first as a stack made before the credentials file (the fixed `sessions`
 * password), then switches at its next start and refuses the old password; the ClickHouse reader
 * may SELECT the analytics tables but not INSERT, CREATE or DROP; the API's analytics route
 * answers 200 as that reader, and fails when only the reader's password is wrong.
 */
import { expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import pg from 'pg';
import { migrate } from '../../../scripts/lib/migrate.ts';
import { freePort } from '../../../scripts/lib/net.ts';
import { sha256Hex } from '../../../src/kernel/api-keys.ts';
import { type Config, loadConfig, stackCredentialsPath } from '../../../src/kernel/config.ts';
import { LATENCY_ROLLUP_TABLE, SESSION_EVENTS_TABLE } from '../../../src/kernel/clickhouse/tables.ts';
import { clickhouseService } from '../../../stack/clickhouse.ts';
import { prepareStackCredentials } from '../../../stack/index.ts';
import { silentStackLog } from '../../../stack/log.ts';
import { postgresService } from '../../../stack/postgres.ts';
import { startService, stopService } from '../../../stack/service.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { topicFactory, testConfig } from '../../support/kafka.ts';
import { spawnBun, waitFor } from '../../support/process.ts';

const cleanups = registerCleanups('file');
const freshTopic = topicFactory();
const dir = mkdtempSync(join(tmpdir(), 'stack-creds-'));
/** The private stack's settings; the URLs and passwords are derived (empty counts as unset). */
const env: Record<string, string> = {
  STACK_DIR: dir,
  PG_PORT: String(freePort()),
  CLICKHOUSE_HTTP_PORT: String(freePort()),
  CLICKHOUSE_TCP_PORT: String(freePort()),
  DATABASE_URL: '',
  CLICKHOUSE_URL: '',
  PG_PASSWORD: '',
  CLICKHOUSE_PASSWORD: '',
  CLICKHOUSE_READ_USER: '',
  CLICKHOUSE_READ_PASSWORD: '',
};
cleanups.push(async () => {
  const config = loadConfig(env);
  await Promise.all([postgresService(config), clickhouseService(config)].map((d) => stopService(d, silentStackLog, 30_000)));
  rmSync(dir, { recursive: true, force: true });
});

const pgConnects = async (url: string): Promise<true | string> => {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
};
const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  u.password = password;
  return u.toString();
};

let config: Config;

test(
  'a stack made before the credentials file switches to generated passwords at its next start, not while it runs',
  async () => {
    const legacy = loadConfig(env);
    expect(new URL(legacy.DATABASE_URL).password).toBe('sessions');
    const legacyPostgres = postgresService(legacy);
    await startService(legacyPostgres, silentStackLog, 90_000);
    expect(await pgConnects(legacy.DATABASE_URL)).toBe(true);

    // While its Postgres runs, no file: every process keeps talking to it with the old password.
    const warnings: string[] = [];
    prepareStackCredentials(env, { info: () => {}, warn: (m) => warnings.push(m) });
    expect(existsSync(stackCredentialsPath(dir))).toBe(false);
    expect(warnings.join('\n')).toContain('switch to generated ones at the stack');

    await stopService(legacyPostgres, silentStackLog, 30_000);
    prepareStackCredentials(env, silentStackLog);
    expect(existsSync(stackCredentialsPath(dir))).toBe(true);
    config = loadConfig(env);
    expect(config.CLICKHOUSE_READ_USER).toBe('sessions_reader');

    // A configuration loaded before the file would set a password nobody else knows: refused.
    await expect(startService(postgresService(legacy), silentStackLog, 90_000)).rejects.toThrow(/postgres: the configuration's PG_PASSWORD differ/);
    await expect(startService(clickhouseService(legacy), silentStackLog, 90_000)).rejects.toThrow(/clickhouse: the configuration's CLICKHOUSE_PASSWORD/);

    await startService(postgresService(config), silentStackLog, 90_000);
    expect(await pgConnects(config.DATABASE_URL)).toBe(true);
    expect(await pgConnects(withPassword(config.DATABASE_URL, 'sessions'))).toContain('password authentication failed');
  },
  180_000,
);

test(
  'ClickHouse: the reader may SELECT the analytics tables but not INSERT, CREATE or DROP; no empty password',
  async () => {
    await startService(clickhouseService(config), silentStackLog, 90_000);
    await migrate(config, silentStackLog);
    const db = config.CLICKHOUSE_DATABASE;
    const quiet = { log: { level: ClickHouseLogLevel.OFF } }; // the refusals below are expected
    const app = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
    const reader = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_READ_USER, password: config.CLICKHOUSE_READ_PASSWORD, ...quiet });
    const anonymous = createClient({ url: config.CLICKHOUSE_URL, ...quiet });
    try {
      await app.command({ query: `CREATE TABLE ${db}.scratch (v UInt32) ENGINE = MergeTree ORDER BY v` });
      await app.insert({ table: `${db}.scratch`, values: [{ v: 1 }], format: 'JSONEachRow' });
      const count = async (table: string) =>
        (await (await reader.query({ query: `SELECT count() AS n FROM ${db}.${table}`, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<{ n: number }>())[0]?.n;
      expect(await count(SESSION_EVENTS_TABLE)).toBe(0);
      expect(await count(LATENCY_ROLLUP_TABLE)).toBe(0);
      expect(await count('scratch')).toBe(1);

      const refused = async (what: () => Promise<unknown>) => what().then(() => 'allowed', (e: unknown) => (e as Error).message);
      expect(await refused(() => reader.insert({ table: `${db}.scratch`, values: [{ v: 2 }], format: 'JSONEachRow' }))).toContain('Cannot insert into table in readonly mode');
      expect(await refused(() => reader.insert({ table: `${db}.scratch`, values: [{ v: 2 }], format: 'JSONEachRow', clickhouse_settings: { readonly: '0' } }))).toContain(
        "Setting 'readonly' cannot be overrided in readonly mode",
      );
      expect(await refused(() => reader.command({ query: `CREATE TABLE ${db}.made_by_reader (v UInt8) ENGINE = Memory` }))).toContain('Cannot create table in readonly mode');
      expect(await refused(() => reader.command({ query: `DROP TABLE ${db}.scratch` }))).toContain('Cannot drop table in readonly mode');
      expect(await refused(() => reader.command({ query: `DROP DATABASE ${db}` }))).toContain('readonly mode');
      expect(await refused(() => anonymous.query({ query: 'SELECT 1' }))).toContain('Password required for user default');
      expect(await count('scratch')).toBe(1);
    } finally {
      await Promise.all([app.close(), reader.close(), anonymous.close()]);
    }
  },
  180_000,
);

test(
  "the API's analytics route answers 200 as the read-only user, and 503 when only that user's password is wrong",
  async () => {
    const topic = await freshTopic('creds', 1);
    const key = 'int-credentials-read-key';
    const api = (overrides: Record<string, string>) => {
      const port = freePort();
      spawnBun('src/server.ts', {
        ...env,
        APP_ENV: 'production',
        AUTH_DISABLED: 'false',
        LOG_LEVEL: 'warn',
        KAFKA_ALLOW_UNREPLICATED: 'true',
        KAFKA_BROKERS: testConfig.KAFKA_BROKERS.join(','),
        KAFKA_TOPIC: topic,
        HTTP_PORT: String(port),
        API_KEYS: `reader:read:${sha256Hex(key)}`,
        ...overrides,
      });
      return `http://127.0.0.1:${port}`;
    };
    const to = new Date();
    const from = new Date(to.getTime() - 10 * 60_000);
    const throughput = (base: string) =>
      fetch(`${base}/analytics/throughput?from=${from.toISOString()}&to=${to.toISOString()}&step=1m`, { headers: { authorization: `Bearer ${key}` } });

    const right = api({});
    const wrong = api({ CLICKHOUSE_READ_PASSWORD: 'not-the-readers' });
    for (const base of [right, wrong]) await waitFor(`the API at ${base} to be ready`, async () => (await fetch(`${base}/readyz`)).status === 200, 60_000);
    const ok = await throughput(right);
    expect({ status: ok.status, body: ok.status === 200 ? 'ok' : await ok.text() }).toEqual({ status: 200, body: 'ok' });
    expect(((await ok.json()) as { points: unknown[] }).points).toBeArray();
    // The app user's password is right in both: only the reader's differs, so the route uses the reader.
    expect((await throughput(wrong)).status).toBe(503);
  },
  120_000,
);
