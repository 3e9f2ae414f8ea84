/**
 * Proves the native stack is real, from Bun: a round trip through each service with real values.
 * Every resource is unique to this run and its cleanup is registered where it is made.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createClient } from '@clickhouse/client';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../../src/config.ts';
import { ensureTopics } from '../../src/kafka/topics.ts';
import { migrate } from '../../scripts/migrate.ts';
import { silentStackLog } from '../../stack/log.ts';

const config = loadConfig(process.env);
const runId = randomUUID().slice(0, 8);
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

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
