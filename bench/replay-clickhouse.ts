/**
 * Benchmark (not a test): how fast the ClickHouse consumer lands a replay, and how fresh the
 * analytics are under steady load. Against the running stack (`bun stack/cli.ts start`).
 *
 *   bun bench/replay-clickhouse.ts [--events=1000000] [--partitions=6] [--single-rows=500]
 *                                  [--rate=5000] [--steady-seconds=30] [--keep]
 *
 * 1. replay: produce N events to a fresh topic (untimed), then time the consumer (shared
 *    runtime + ClickHouse sink, CH_BATCH_MAX_EVENTS / CH_BATCH_MAX_WAIT_MS) from start until
 *    every event is a row in a fresh database. Same-run baselines: the sink alone (the same
 *    batches inserted straight into ClickHouse, no Kafka, no decode) and single-row inserts
 *    for a small sample (one INSERT per event), with the ratio; and the same replay into a
 *    no-op sink (the runtime's own ceiling: Kafka fetch, decode, batching, commits).
 * 2. freshness: produce at a steady rate (receivedAt stamped at send) for S seconds with the
 *    consumer running; report api_to_analytics_lag_ms p50/p95/p99 (exact) from ClickHouse.
 *    This starts at the producer, so it leaves out the HTTP hop into the API.
 * Prints one JSON line. Every loop is bounded in count and time.
 */
import { parseArgs } from 'node:util';
import { sql_queries } from 'clickhouse-migrations/lib/sql-parse';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouseInserter } from '../consumers/clickhouse/inserter.ts';
import { toSessionEventRows, toSessionEventRow } from '../consumers/clickhouse/rows.ts';
import { createClickHouseSink } from '../consumers/clickhouse/sink.ts';
import { type BatchSink, createConsumer } from '../consumers/runtime/index.ts';
import { createClickHouseClient } from '../src/kernel/clickhouse/client.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { EVENT_TYPE, EVENT_VERSION, encodeSessionCompleted, type SessionCompleted } from '../src/kernel/events/session-completed.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { createRegistry } from '../src/kernel/observability/metrics.ts';
import { produceEvents } from './lib/replay.ts';
import { createTopicsAndWait } from '../src/kernel/kafka/topics.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    partitions: { type: 'string', default: '6' },
    'single-rows': { type: 'string', default: '500' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const PARTITIONS = Number(args.partitions);
const SINGLE = Number(args['single-rows']);
const RATE = Number(args.rate);
const STEADY_S = Number(args['steady-seconds']);
for (const [k, v] of Object.entries({ N, PARTITIONS, SINGLE, RATE, STEADY_S })) {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`bad --${k}: ${v}`);
}

const config = loadConfig(process.env);
const logger = silentLogger();
const kafka = createKafka(config, logger, '-bench');
const ch = createClickHouseClient(config, { application: 'session-pipeline.bench', requestTimeoutMs: 120_000 });
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const database = `bench_ch_${tag}`;
const log = (msg: string) => console.error(`[replay-clickhouse] ${msg}`);

async function count(): Promise<number> {
  const r = await ch.query({ query: `SELECT count() AS n FROM ${database}.session_events`, format: 'JSONEachRow' });
  return Number((await r.json<{ n: string }>())[0]?.n ?? 0);
}

function eventAt(i: number, receivedAtMs: number): SessionCompleted {
  const completed = receivedAtMs - 40;
  return {
    id: crypto.randomUUID(),
    type: EVENT_TYPE,
    version: EVENT_VERSION,
    occurredAt: new Date(completed).toISOString(),
    receivedAt: new Date(receivedAtMs).toISOString(),
    data: {
      sessionId: `bench-s-${i}`,
      userId: `bench-user-${i % 10_000}`,
      startedAt: new Date(completed - 1_000 - (i % 5_000)).toISOString(),
      completedAt: new Date(completed).toISOString(),
      outcome: (['completed', 'failed', 'abandoned'] as const)[i % 3]!,
      ...(i % 2 === 0 ? { score: i % 100 } : {}),
    },
  };
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench.ch-replay.${tag}`;
  const dlq = `${topic}.dlq`;
  const steadyTopic = `bench.ch-steady.${tag}`;
  /** A consumer with the ClickHouse consumer's batch settings, from the earliest offset. */
  const benchConsumer = (from: string, groupId: string, sink: BatchSink) =>
    createConsumer({
      kafka,
      topic: from,
      dlqTopic: dlq,
      groupId,
      sink,
      batchMaxEvents: config.CH_BATCH_MAX_EVENTS,
      batchMaxWaitMs: config.CH_BATCH_MAX_WAIT_MS,
      retryMaxBackoffMs: 2_000,
      logger,
      registry: createRegistry(),
      fromBeginning: true,
    });
  await createTopicsAndWait(admin, [topic, dlq, steadyTopic].map((t) => ({ topic: t, numPartitions: PARTITIONS })));
  await ch.command({ query: `CREATE DATABASE ${database}` });
  const scoped = createClickHouseClient(config, { database });
  const dir = join(import.meta.dir, '../migrations/clickhouse');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort((a, b) => parseInt(a) - parseInt(b))) {
    for (const query of sql_queries(readFileSync(join(dir, file), 'utf8'))) await scoped.command({ query });
  }
  await scoped.close();
  const inserter = createClickHouseInserter(ch, database);
  const result: Record<string, unknown> = {
    bench: 'replay-clickhouse',
    events: N,
    partitions: PARTITIONS,
    batchMaxEvents: config.CH_BATCH_MAX_EVENTS,
    batchMaxWaitMs: config.CH_BATCH_MAX_WAIT_MS,
  };

  try {
    // ---- baseline 1: single-row inserts, a small sample
    const base = Date.now() - 3_600_000;
    let t = performance.now();
    for (let i = 0; i < SINGLE; i++) await inserter.insert([toSessionEventRow(eventAt(i, base - 10_000_000 + i), Date.now())]);
    const singleRowPerSec = SINGLE / ((performance.now() - t) / 1000);

    // ---- baseline 2: the sink alone (rows -> JSONEachRow inserts of the batch size), no Kafka
    const sinkSample = Math.min(N, 200_000);
    const sample = Array.from({ length: sinkSample }, (_, i) => eventAt(i, base - 20_000_000 + i));
    t = performance.now();
    for (let i = 0; i < sinkSample; i += config.CH_BATCH_MAX_EVENTS) {
      await inserter.insert(toSessionEventRows(sample.slice(i, i + config.CH_BATCH_MAX_EVENTS), Date.now()));
    }
    const sinkOnlyPerSec = sinkSample / ((performance.now() - t) / 1000);
    const before = await count();

    // ---- replay
    const producer = kafka.producer();
    await producer.connect();
    t = performance.now();
    await produceEvents(producer, topic, N, (i) => eventAt(i, base + i));
    const produceSeconds = (performance.now() - t) / 1000;
    log(`produced ${N} in ${produceSeconds.toFixed(1)} s; consuming`);

    const consumer = benchConsumer(topic, `${topic}.group`, createClickHouseSink({ inserter }));
    t = performance.now();
    await consumer.start();
    const deadline = Date.now() + 600_000;
    let rows = 0;
    while (Date.now() < deadline && (rows = (await count()) - before) < N) await Bun.sleep(100);
    const landedSeconds = (performance.now() - t) / 1000;
    await consumer.whenCaughtUp(120_000);
    const committedSeconds = (performance.now() - t) / 1000;
    await consumer.stop();
    const replayPerSec = rows / landedSeconds;
    Object.assign(result, {
      produceSeconds: round(produceSeconds),
      replaySeconds: round(landedSeconds),
      replayCommittedSeconds: round(committedSeconds),
      rowsLanded: rows,
      replayEventsPerSec: Math.round(replayPerSec),
      goalEventsPerSec: 200_000,
      sinkOnlyEventsPerSec: Math.round(sinkOnlyPerSec),
      sinkOnlySample: sinkSample,
      singleRowInsertsPerSec: round(singleRowPerSec),
      singleRowSample: SINGLE,
      replayVsSingleRowRatio: round(replayPerSec / singleRowPerSec),
    });
    log(`replay: ${rows} rows in ${landedSeconds.toFixed(2)} s`);

    // ---- baseline 3: the same replay into a sink that writes nothing (Kafka fetch + decode +
    // batching + commits only): the ceiling the runtime leaves for any sink on this machine.
    const noop = benchConsumer(topic, `${topic}.noop`, { name: 'noop', write: async () => {} });
    t = performance.now();
    await noop.start();
    await noop.whenCaughtUp(600_000);
    const noopSeconds = (performance.now() - t) / 1000;
    await noop.stop();
    Object.assign(result, { noopSinkSeconds: round(noopSeconds), noopSinkEventsPerSec: Math.round(N / noopSeconds) });
    log(`no-op sink: ${N} in ${noopSeconds.toFixed(2)} s`);

    // ---- freshness at a steady rate
    if (STEADY_S > 0 && RATE > 0) {
      const steady = benchConsumer(steadyTopic, `${steadyTopic}.group`, createClickHouseSink({ inserter }));
      await steady.start();
      const startedAt = Date.now();
      const tickMs = 20;
      const perTick = (RATE * tickMs) / 1000;
      let sent = 0;
      let i = 0;
      const sends: Promise<unknown>[] = [];
      while (Date.now() - startedAt < STEADY_S * 1000) {
        const due = Math.floor(((Date.now() - startedAt) / 1000) * RATE);
        if (due > sent) {
          const now = Date.now();
          const messages = [];
          for (; sent < due; sent++) messages.push(encodeSessionCompleted(eventAt(N + i++, now)));
          sends.push(producer.send({ topic: steadyTopic, messages }));
          if (sends.length > 50) await sends.shift();
        }
        await Bun.sleep(Math.max(1, tickMs - ((Date.now() - startedAt) % tickMs)));
      }
      await Promise.all(sends);
      await steady.whenCaughtUp(60_000);
      await steady.stop();
      const since = Math.floor(startedAt / 1000);
      const r = await ch.query({
        query: `SELECT count() AS n, quantilesExact(0.5, 0.95, 0.99)(api_to_analytics_lag_ms) AS q, max(api_to_analytics_lag_ms) AS mx
                FROM ${database}.session_events FINAL WHERE received_at >= toDateTime(${since}) AND user_id LIKE 'bench-user-%' AND session_id >= 'bench-s-${N}'`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const [f] = await r.json<{ n: number; q: number[]; mx: number }>();
      Object.assign(result, {
        steadyRatePerSec: RATE,
        steadySeconds: STEADY_S,
        steadyEventsSent: sent,
        steadyRowsMeasured: f?.n ?? 0,
        freshnessP50Ms: f?.q[0] ?? null,
        freshnessP95Ms: f?.q[1] ?? null,
        freshnessP99Ms: f?.q[2] ?? null,
        freshnessMaxMs: f?.mx ?? null,
        freshnessGoalP99Ms: 2_000,
      });
    }
    await producer.disconnect();
  } finally {
    if (!args.keep) {
      await admin.deleteTopics({ topics: [topic, dlq, steadyTopic] }).catch(() => undefined);
      await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    }
    await admin.disconnect();
    await ch.close();
  }
  console.log(JSON.stringify(result));
}

const round = (x: number) => Math.round(x * 100) / 100;
await main();
process.exit(0);
