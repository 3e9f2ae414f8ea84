/**
 * Proves the native stack is real, from Bun: a round trip through each service with real values.
 * Every resource is unique to this run and its cleanup is registered where it is made.
 */
import { describe, expect, test } from 'bun:test';
import { registerCleanups } from '../support/cleanups.ts';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createClient } from '@clickhouse/client';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../../src/kernel/config.ts';
import { ensureTopics } from '../../src/kernel/kafka/topics.ts';
import { migrate } from '../../scripts/lib/migrate.ts';
import { stackStatus, startStack, stopStack } from '../../stack/index.ts';
import { kafkaLibsDir } from '../../stack/install.ts';
import { kafkaService } from '../../stack/kafka.ts';
import { silentStackLog } from '../../stack/log.ts';
import { postgresService } from '../../stack/postgres.ts';
import { isAlive } from '../../stack/process.ts';
import { startService } from '../../stack/service.ts';

const config = loadConfig(process.env);
const runId = randomUUID().slice(0, 8);
const cleanups = registerCleanups('file');

/** Polls `read` until `done(value)` or the deadline; returns the last value (the test asserts). */
async function pollFor<T>(read: () => Promise<T> | T, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await Bun.sleep(50);
    value = await read();
  }
  return value;
}

const kafka = new Kafka({
  clientId: `stack-int-${runId}`,
  brokers: [...config.KAFKA_BROKERS],
  logLevel: logLevel.NOTHING,
  retry: { retries: 5 },
});

describe('Kafka', () => {
  test('a message produced with acks=all is consumed back, with its key, value and header', async () => {
    const topic = `test.stack.${runId}`;
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    });
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: JSON.stringify({ n: i }), headers: { run: runId } }));
    await producer.send({ topic, acks: -1, messages: sent });

    const received: Array<{ key: string; n: number; run: string; partition: number }> = [];
    const consumer = kafka.consumer({ groupId: `test.stack.${runId}` });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          n: (JSON.parse(message.value?.toString() ?? '{}') as { n: number }).n,
          run: message.headers?.run?.toString() ?? '',
          partition,
        });
      },
    });
    await pollFor(() => received.length, (n) => n >= sent.length, 30_000);

    expect(received.map((m) => m.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(received.map((m) => m.run))).toEqual(new Set([runId]));
    // Same key, same partition; and both partitions are used by five keys.
    for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) {
      expect(new Set(received.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
    }
    expect(received.find((m) => m.n === 7)?.key).toBe('k2');
  });

  test('ensureTopics creates the topic and its dead-letter topic once, and grows partitions on request', async () => {
    const topic = `test.stack-topics.${runId}`;
    const spec = { topic, partitions: 2, dlqTopic: `${topic}.dlq`, retentionMs: 3_600_000 };
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await admin.deleteTopics({ topics: [topic, spec.dlqTopic] });
      await admin.disconnect();
    });
    expect((await ensureTopics(admin, spec)).created).toEqual([topic, spec.dlqTopic]);
    expect(await ensureTopics(admin, spec)).toEqual({ created: [] });
    expect(await ensureTopics(admin, { ...spec, partitions: 3 })).toEqual({ created: [], grown: { topic, from: 2, to: 3 } });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic, spec.dlqTopic] });
    const partitions = Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions).toEqual({ [topic]: 3, [spec.dlqTopic]: 1 });
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('3600000');
  });
});

describe('Postgres', () => {
  test('COPY into a temp table and read the rows back; pg_stat_statements and the slow log are on', async () => {
    const client = new pg.Client({ connectionString: config.DATABASE_URL });
    await client.connect();
    cleanups.push(() => client.end());
    await client.query('CREATE TEMP TABLE stack_copy (id int PRIMARY KEY, name text NOT NULL, score double precision)');
    const rows = Array.from({ length: 1000 }, (_, i) => `${i + 1}\tname-${i + 1}\t${i % 7 === 0 ? '\\N' : (i + 1) / 4}\n`);
    await pipeline(Readable.from(rows), client.query(copyFrom('COPY stack_copy (id, name, score) FROM STDIN')));

    const agg = await client.query<{ n: string; ids: string; nulls: string; score: number }>(
      'SELECT count(*) AS n, sum(id) AS ids, count(*) FILTER (WHERE score IS NULL) AS nulls, sum(score) AS score FROM stack_copy',
    );
    expect(agg.rows[0]).toEqual({ n: '1000', ids: '500500', nulls: '143', score: expect.any(Number) });
    const one = await client.query<{ name: string; score: number }>('SELECT name, score FROM stack_copy WHERE id = 42');
    expect(one.rows).toEqual([{ name: 'name-42', score: 10.5 }]);

    const settings = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('log_min_duration_statement', 'listen_addresses') ORDER BY name`,
    );
    expect(settings.rows).toEqual([
      { name: 'listen_addresses', setting: '127.0.0.1' },
      { name: 'log_min_duration_statement', setting: String(config.PG_LOG_MIN_DURATION_MS) },
    ]);
    // The view errors unless the library is preloaded; it has already counted the query above.
    const statements = await client.query<{ calls: number }>(
      `SELECT sum(calls)::int AS calls FROM pg_stat_statements WHERE query = 'SELECT name, score FROM stack_copy WHERE id = $1'`,
    );
    expect(statements.rows[0]?.calls).toBeGreaterThanOrEqual(1);
  });
});

describe('ClickHouse', () => {
  test('JSONEachRow insert into a fresh table, then exact aggregates back', async () => {
    const client = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
    const table = `${config.CLICKHOUSE_DATABASE}.stack_int_${runId}`;
    cleanups.push(async () => {
      await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
      await client.close();
    });
    await client.command({
      query: `CREATE TABLE ${table} (id UInt32, outcome String, duration_ms Int64, at DateTime('UTC')) ENGINE = MergeTree ORDER BY id`,
    });
    const base = Date.UTC(2026, 0, 1) / 1000;
    const values = Array.from({ length: 1000 }, (_, i) => ({
      id: i + 1,
      outcome: i % 4 === 0 ? 'failed' : 'completed',
      duration_ms: (i + 1) * 10,
      at: base + i, // unix seconds: 18.16 does not parse ISO strings by default
    }));
    await client.insert({ table, values, format: 'JSONEachRow' });

    const rs = await client.query({
      query: `SELECT outcome, count() AS n, sum(duration_ms) AS total, quantileExact(0.5)(duration_ms) AS p50, toString(max(at)) AS last
              FROM ${table} GROUP BY outcome ORDER BY outcome`,
      format: 'JSONEachRow',
    });
    // The expected aggregates, computed from the rows sent (quantileExact(0.5) takes the upper
    // middle element). 18.16 returns UInt64/Int64 as strings.
    const expected = ['completed', 'failed'].map((outcome) => {
      const rows = values.filter((v) => v.outcome === outcome);
      const durations = rows.map((v) => v.duration_ms).sort((a, b) => a - b);
      const last = new Date(Math.max(...rows.map((v) => v.at)) * 1000).toISOString().replace('T', ' ').slice(0, 19);
      return {
        outcome,
        n: String(rows.length),
        total: String(durations.reduce((a, b) => a + b, 0)),
        p50: String(durations[Math.floor(durations.length / 2)]),
        last,
      };
    });
    expect(expected[0]).toEqual({ outcome: 'completed', n: '750', total: '3757500', p50: '5020', last: '2026-01-01 00:16:39' });
    expect(await rs.json()).toEqual(expected);
  });
});

describe('migrate', () => {
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
    for (const d of [pgDir, chDir]) rmSync(d, { recursive: true, force: true });
    Bun.spawnSync(['mkdir', '-p', pgDir, chDir]);
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
  });

  test('a ClickHouse migration named like a dbmate timestamp is refused with a message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrate-int-bad-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, '20260101000001_x.sql'), 'SELECT 1;\n');
    const empty = mkdtempSync(join(tmpdir(), 'migrate-int-empty-'));
    cleanups.push(async () => rmSync(empty, { recursive: true, force: true }));
    await expect(migrate(config, silentStackLog, { postgresDir: empty, clickhouseDir: dir })).rejects.toThrow(
      /20260101000001_x\.sql: a ClickHouse migration is named <number>_<name>\.sql/,
    );
  });
});

describe('stack lifecycle (its own STACK_DIR and ports, beside the shared stack)', () => {
  const freePort = (): number => {
    const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    const { port } = s;
    s.stop(true);
    return port;
  };

  test(
    'start, write, stop, a foreign pid in a pid file, start again: data intact, foreign process untouched',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'stack-lifecycle-'));
      // Derived addresses must follow the ports below, not the caller's environment.
      const { KAFKA_BROKERS: _b, DATABASE_URL: _d, CLICKHOUSE_URL: _c, ...env } = process.env;
      const alt = loadConfig({
        ...env,
        STACK_DIR: dir,
        KAFKA_PORT: String(freePort()),
        KAFKA_CONTROLLER_PORT: String(freePort()),
        PG_PORT: String(freePort()),
        CLICKHOUSE_HTTP_PORT: String(freePort()),
        CLICKHOUSE_TCP_PORT: String(freePort()),
        KAFKA_HEAP: '256m',
      });
      const lines: string[] = [];
      const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(`WARN ${m}`) };
      const foreign = Bun.spawn(['sleep', '300'], { stdio: ['ignore', 'ignore', 'ignore'] });
      cleanups.push(async () => {
        foreign.kill();
        await stopStack(alt, silentStackLog);
        rmSync(dir, { recursive: true, force: true });
      });
      // Reuse the shared stack's broker jars (same pom) instead of fetching them again.
      const sharedLibs = kafkaLibsDir(config);
      if (existsSync(sharedLibs)) {
        mkdirSync(join(dir, 'kafka'), { recursive: true });
        symlinkSync(sharedLibs, kafkaLibsDir(alt));
      }

      const first = await startStack(alt, log);
      expect(first.services.map((s) => [s.name, s.alreadyRunning]).sort()).toEqual([
        ['clickhouse', false],
        ['kafka', false],
        ['postgres', false],
      ]);
      expect((await stackStatus(alt)).map((s) => [s.name, s.running, s.ready])).toEqual([
        ['kafka', true, true],
        ['postgres', true, true],
        ['clickhouse', true, true],
      ]);

      // Write something to each service.
      const pgClient = () => new pg.Client({ connectionString: alt.DATABASE_URL });
      const chClient = () => createClient({ url: alt.CLICKHOUSE_URL, username: alt.CLICKHOUSE_USER, password: alt.CLICKHOUSE_PASSWORD });
      const altKafka = () => new Kafka({ clientId: 'lifecycle', brokers: [...alt.KAFKA_BROKERS], logLevel: logLevel.NOTHING });
      {
        const c = pgClient();
        await c.connect();
        await c.query('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$pg-kept$$)');
        await c.end();
        const ch = chClient();
        await ch.command({ query: `CREATE TABLE ${alt.CLICKHOUSE_DATABASE}.kept (v String) ENGINE = MergeTree ORDER BY v` });
        await ch.insert({ table: `${alt.CLICKHOUSE_DATABASE}.kept`, values: [{ v: 'ch-kept' }], format: 'JSONEachRow' });
        await ch.close();
        const k = altKafka();
        const admin = k.admin();
        await admin.connect();
        await ensureTopics(admin, { topic: 'kept', partitions: 1, dlqTopic: 'kept.dlq', retentionMs: -1 });
        await admin.disconnect();
        const producer = k.producer({ createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        await producer.send({ topic: 'kept', acks: -1, messages: [{ value: 'kafka-kept' }] });
        await producer.disconnect();
      }

      const stopped = await stopStack(alt, silentStackLog);
      expect(stopped.services.map((s) => s.outcome)).toEqual(['stopped', 'stopped', 'stopped']);
      expect((await stackStatus(alt)).every((s) => !s.running)).toBe(true);

      // An unclean leftover: Kafka's pid file now names a live process that is not ours.
      writeFileSync(kafkaService(alt).paths.pidFile, `${foreign.pid}\n`);
      lines.length = 0;
      const second = await startStack(alt, log);
      expect(second.services.every((s) => !s.alreadyRunning)).toBe(true);
      expect(lines.some((l) => l.startsWith('WARN kafka: removing stale pid file') && l.includes('another process'))).toBe(true);
      expect(foreign.exitCode).toBeNull(); // never signalled
      expect(isAlive(foreign.pid)).toBe(true);

      // Data survived the restart.
      const c = pgClient();
      await c.connect();
      expect((await c.query('SELECT v FROM kept')).rows).toEqual([{ v: 'pg-kept' }]);
      await c.end();
      const ch = chClient();
      const rs = await ch.query({ query: `SELECT v FROM ${alt.CLICKHOUSE_DATABASE}.kept`, format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ v: 'ch-kept' }]);
      await ch.close();
      const consumer = altKafka().consumer({ groupId: 'lifecycle-reader' });
      const values: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: 'kept', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
      await pollFor(() => values.length, (n) => n >= 1, 30_000);
      await consumer.disconnect();
      expect(values).toEqual(['kafka-kept']);
    },
    240_000,
  );

  test('a port held by another process is refused with a message naming the port and the service', async () => {
    const holder = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    const dir = mkdtempSync(join(tmpdir(), 'stack-port-'));
    cleanups.push(async () => {
      holder.stop(true);
      rmSync(dir, { recursive: true, force: true });
    });
    const { DATABASE_URL: _d, ...env } = process.env;
    const busy = loadConfig({ ...env, STACK_DIR: dir, PG_PORT: String(holder.port) });
    await expect(startService(postgresService(busy), silentStackLog, 10_000)).rejects.toThrow(
      new RegExp(`postgres: port ${holder.port} \\(Postgres, PG_PORT\\) on 127\\.0\\.0\\.1 is already in use`),
    );
  });
});
