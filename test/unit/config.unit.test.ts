import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOnlyCredentials } from '../../src/kernel/clickhouse/client.ts';
import { CONFIG_KEYS, type Env, STACK_DEFAULTS, loadConfig as loadConfigFrom } from '../../src/kernel/config.ts';
import { AppError } from '../../src/kernel/errors.ts';
import { emptyStackDir } from '../support/hermetic-config.ts';

// Not the developer's .stack (it may hold generated passwords): a STACK_DIR without credentials.
const noCredentials = emptyStackDir();
const loadConfig = (env: Env) => loadConfigFrom({ STACK_DIR: noCredentials, ...env });

describe('loadConfig', () => {
  test('defaults point at the native stack', () => {
    const c = loadConfig({});
    expect(c.KAFKA_BROKERS).toEqual([`127.0.0.1:${STACK_DEFAULTS.KAFKA_PORT}`]);
    expect(c.DATABASE_URL).toBe(`postgres://sessions:sessions@127.0.0.1:${STACK_DEFAULTS.PG_PORT}/sessions`);
    expect(c.CLICKHOUSE_URL).toBe(`http://127.0.0.1:${STACK_DEFAULTS.CLICKHOUSE_HTTP_PORT}`);
    expect(c.KAFKA_DLQ_TOPIC).toBe('session-completed.dlq');
    expect([c.CLICKHOUSE_USER, c.CLICKHOUSE_PASSWORD, c.CLICKHOUSE_READ_USER]).toEqual(['default', '', undefined]);
  });

  test('derived values follow the variables they come from; empty strings count as unset', () => {
    const c = loadConfig({ KAFKA_PORT: '29092', KAFKA_TOPIC: 'orders', PG_PORT: '', KAFKA_BROKERS: '' });
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:29092']);
    expect(c.KAFKA_DLQ_TOPIC).toBe('orders.dlq');
    expect(c.PG_PORT).toBe(STACK_DEFAULTS.PG_PORT);
    expect(loadConfig({ KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });

  test('a bad value stops start-up with a message naming every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ HTTP_PORT: 'eighty', PRODUCER_LINGER_MS: '-1', KAFKA_TOPIC: 'has space' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('CONFIG_INVALID');
    for (const name of ['HTTP_PORT="eighty"', 'PRODUCER_LINGER_MS="-1"', 'KAFKA_TOPIC="has space"']) {
      expect((error as AppError).message).toContain(name);
    }
  });

  test('the README documents every variable', () => {
    const readme = readFileSync(join(import.meta.dir, '../../README.md'), 'utf8');
    const missing = CONFIG_KEYS.filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });
});

describe("loadConfig and the native stack's credentials file", () => {
  const stackDir = mkdtempSync(join(noCredentials, 'stack-'));
  writeFileSync(
    join(stackDir, 'credentials.env'),
    '# a comment\nPG_PASSWORD=pg-secret\nCLICKHOUSE_PASSWORD=ch-secret\nCLICKHOUSE_READ_USER=reader\nCLICKHOUSE_READ_PASSWORD=read-secret\nAPI_KEYS=ignored\n',
  );
  const withFile = (env: Env) => loadConfigFrom({ STACK_DIR: stackDir, ...env });

  test('fills in the passwords of the stores the environment leaves at the native stack', () => {
    const c = withFile({});
    expect(c.DATABASE_URL).toBe(`postgres://sessions:pg-secret@127.0.0.1:${STACK_DEFAULTS.PG_PORT}/sessions`);
    expect([c.CLICKHOUSE_USER, c.CLICKHOUSE_PASSWORD, c.CLICKHOUSE_READ_USER, c.CLICKHOUSE_READ_PASSWORD]).toEqual(['default', 'ch-secret', 'reader', 'read-secret']);
    expect(c.API_KEYS).toEqual([]); // only the credential keys are read from the file
  });

  test('a key the environment sets wins over the file', () => {
    const c = withFile({ CLICKHOUSE_PASSWORD: 'from-env', PG_PASSWORD: 'pg-env' });
    expect(c.CLICKHOUSE_PASSWORD).toBe('from-env');
    expect(c.CLICKHOUSE_READ_PASSWORD).toBe('read-secret');
    expect(new URL(c.DATABASE_URL).password).toBe('pg-env');
  });

  test('a store the environment points elsewhere gets none of the file', () => {
    const pg = withFile({ DATABASE_URL: 'postgres://app:pw@db.example:5432/sessions' });
    expect(pg.DATABASE_URL).toBe('postgres://app:pw@db.example:5432/sessions');
    expect(pg.PG_PASSWORD).toBe('sessions');
    expect(pg.CLICKHOUSE_PASSWORD).toBe('ch-secret'); // ClickHouse is still the native one
    const ch = withFile({ CLICKHOUSE_URL: 'http://clickhouse:8123' });
    expect([ch.CLICKHOUSE_PASSWORD, ch.CLICKHOUSE_READ_USER, ch.CLICKHOUSE_READ_PASSWORD]).toEqual(['', undefined, '']);
    expect(new URL(ch.DATABASE_URL).password).toBe('pg-secret');
  });

  test('a bad value from the file names the file', () => {
    const bad = mkdtempSync(join(noCredentials, 'bad-'));
    writeFileSync(join(bad, 'credentials.env'), 'CLICKHOUSE_READ_USER=no-dashes\n');
    expect(() => loadConfigFrom({ STACK_DIR: bad })).toThrow('CLICKHOUSE_READ_USER="no-dashes" (from credentials.env)');
  });

  test("the API's analytics read as CLICKHOUSE_READ_USER when it is set, else as the app's user", () => {
    expect(readOnlyCredentials(withFile({}))).toEqual({ CLICKHOUSE_USER: 'reader', CLICKHOUSE_PASSWORD: 'read-secret' });
    expect(readOnlyCredentials(loadConfig({ CLICKHOUSE_PASSWORD: 'app' }))).toEqual({ CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: 'app' });
  });
});

describe('compose.yaml', () => {
  test("each project service's environment is a valid configuration (with API keys)", async () => {
    const { parse } = await import('yaml');
    const compose = parse(readFileSync(join(import.meta.dir, '../../compose.yaml'), 'utf8')) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    for (const name of ['api', 'consumer-postgres', 'consumer-clickhouse']) {
      const env = compose.services[name]?.environment;
      expect(env).toBeDefined();
      // API_KEYS comes from .env (compose.yaml ships no key): stand in an entry for the interpolation.
      const config = loadConfig({ ...env, API_KEYS: `compose:ingest+read:${'0'.repeat(64)}` });
      expect(env?.['API_KEYS']).toMatch(/^\$\{API_KEYS:\?/);
      expect(config.AUTH_DISABLED).toBe(false);
      expect(config.API_KEYS.length).toBeGreaterThan(0);
    }
  });
});
