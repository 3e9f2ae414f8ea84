/**
 * The native stack's lifecycle (stack/, what `npm run stack` runs), on its own STACK_DIR and
 * ports beside the shared stack: start, stop, restart with data intact, stale pid files, and a
 * port held by another process.
 */
import { expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { freePort } from '../../../scripts/lib/net.ts';
import { loadConfig } from '../../../src/kernel/config.ts';
import { ensureTopics } from '../../../src/kernel/kafka/topics.ts';
import { loadStackConfig, stackStatus, startStack, stopStack } from '../../../stack/index.ts';
import { kafkaLibsDir } from '../../../stack/install.ts';
import { kafkaService } from '../../../stack/kafka.ts';
import { silentStackLog } from '../../../stack/log.ts';
import { postgresService } from '../../../stack/postgres.ts';
import { isAlive } from '../../../stack/process.ts';
import { startService } from '../../../stack/service.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { waitFor } from '../../support/process.ts';

const config = loadConfig(process.env);
const cleanups = registerCleanups('file');

test(
  'start, write, stop, a foreign pid in a pid file, start again: data intact, foreign process untouched',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-lifecycle-'));
    // Derived addresses must follow the ports below, not the caller's environment.
    const { KAFKA_BROKERS: _b, DATABASE_URL: _d, CLICKHOUSE_URL: _c, ...env } = process.env;
    // Its own generated passwords (stack/credentials.ts), as `npm run stack -- start` makes them.
    const alt = loadStackConfig(
      {
        ...env,
        STACK_DIR: dir,
        KAFKA_PORT: String(freePort()),
        KAFKA_CONTROLLER_PORT: String(freePort()),
        PG_PORT: String(freePort()),
        CLICKHOUSE_HTTP_PORT: String(freePort()),
        CLICKHOUSE_TCP_PORT: String(freePort()),
        KAFKA_HEAP: '256m',
      },
      silentStackLog,
    );
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
    await waitFor('the kept message to be read back', () => values.length >= 1);
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
}, 30_000);
