import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_KEYS, STACK_DEFAULTS, loadConfig } from '../../src/kernel/config.ts';
import { AppError } from '../../src/kernel/errors.ts';

describe('loadConfig', () => {
  test('defaults point at the native stack', () => {
    const c = loadConfig({});
    expect(c.KAFKA_BROKERS).toEqual([`127.0.0.1:${STACK_DEFAULTS.KAFKA_PORT}`]);
    expect(c.DATABASE_URL).toBe(`postgres://sessions:sessions@127.0.0.1:${STACK_DEFAULTS.PG_PORT}/sessions`);
    expect(c.CLICKHOUSE_URL).toBe(`http://127.0.0.1:${STACK_DEFAULTS.CLICKHOUSE_HTTP_PORT}`);
    expect(c.KAFKA_DLQ_TOPIC).toBe('session-completed.dlq');
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
