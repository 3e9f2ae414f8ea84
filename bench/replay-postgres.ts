/**
 * Benchmark (not a test): how fast the Postgres consumer catches up on a replay, and how fresh
 * the read model is under steady load. Against the running stack (`bun stack/cli.ts start`).
 *
 *   bun bench/replay-postgres.ts [--events=1000000] [--users=50000] [--partitions=6]
 *                                [--single-rows=2000] [--sink-sample=200000]
 *                                [--rate=5000] [--steady-seconds=30] [--keep]
 *
 * 1. replay: produce N events (key = userId, as the API does; 5% of them re-complete an earlier
 *    session) to a fresh topic (untimed, large sendBatch calls), then time the consumer (shared
 *    runtime + Postgres COPY sink, PG_BATCH_MAX_EVENTS / PG_BATCH_MAX_WAIT_MS) from start until
 *    its commits reach the high watermarks, into a fresh schema. Then checks user_stats equals
 *    the aggregate over sessions.
 *    Same-run baselines, each into its own fresh schema: the sink alone (the same batch size,
 *    no Kafka, no decode) and naive per-event writes for a small sample (one transaction per
 *    event: INSERT .. ON CONFLICT for the session, then the user's stats recomputed), with the ratio.
 * 2. freshness: produce at a steady rate (receivedAt stamped at send) for S seconds with a
 *    consumer running; report p50/p95/p99 of receivedAt -> projected_at (exact, from the rows;
 *    projected_at is the write transaction's start) and the runtime's freshness histogram
 *    (receivedAt -> offset commit, bucket upper bounds). This starts at the producer, so it
 *    leaves out the HTTP hop into the API and its group-commit linger.
 * Prints one JSON line on stdout (progress on stderr). Every loop is bounded in count and time.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { createPgPool } from '../src/kernel/postgres/pool.ts';
import { projectBatch } from '../consumers/postgres/projection.ts';
import { createReadModelSchema, dropSchema, scratchSchemaName } from '../consumers/postgres/schema.ts';
import { createPostgresSink } from '../consumers/postgres/sink.ts';
import { createPgSessionStore } from '../consumers/postgres/store.ts';
import { USER_STATS_COLUMNS, USER_STATS_FROM_SESSIONS } from '../consumers/postgres/store-sql.ts';
import { createConsumer } from '../consumers/runtime/index.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { EVENT_TYPE, EVENT_VERSION, encodeSessionCompleted, type SessionCompleted } from '../src/kernel/events/session-completed.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { naivePerEventWrite } from './lib/pg-naive.ts';
import { produceEvents } from './lib/replay.ts';
import { createTopicsAndWait } from '../src/kernel/kafka/topics.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '50000' },
    partitions: { type: 'string', default: '6' },
    'single-rows': { type: 'string', default: '2000' },
    'sink-sample': { type: 'string', default: '200000' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const USERS = Number(args.users);
const PARTITIONS = Number(args.partitions);
const SINGLE = Number(args['single-rows']);
const SINK_SAMPLE = Math.min(N, Number(args['sink-sample']));
const RATE = Number(args.rate);
const STEADY_S = Number(args['steady-seconds']);
for (const [k, v] of Object.entries({ N, USERS, PARTITIONS, SINGLE, SINK_SAMPLE, RATE, STEADY_S })) {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`bad --${k}: ${v}`);
}
if (USERS < 1 || PARTITIONS < 1) throw new Error('--users and --partitions must be at least 1');

const config = loadConfig(process.env);
const logger = silentLogger();
const kafka = createKafka(config, logger, '-bench-pg');
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const log = (msg: string) => console.error(`[replay-postgres] ${msg}`);
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** Event i; every 20th re-completes session i-10 one second later (a new event id). */
function eventAt(i: number, receivedAtMs: number): SessionCompleted {
  const recompletes = i % 20 === 19;
  const session = recompletes ? i - 10 : i;
  const completed = receivedAtMs - 40;
  return {
    id: crypto.randomUUID(),
    type: EVENT_TYPE,
    version: EVENT_VERSION,
    occurredAt: new Date(completed).toISOString(),
    receivedAt: new Date(receivedAtMs).toISOString(),
    data: {
      sessionId: `bench-s-${session}`,
      userId: `bench-u-${session % USERS}`,
      startedAt: new Date(completed - 1_000 - (i % 600_000)).toISOString(),
      completedAt: new Date(completed).toISOString(),
      outcome: (['completed', 'failed', 'abandoned'] as const)[i % 3]!,
      ...(i % 4 === 0 ? {} : { score: (i * 7) % 1000 / 10 }),
      ...(i % 2 === 0 ? { attributes: { level: i % 50, mode: 'ranked' } } : {}),
    },
  };
}

async function withSchema<T>(admin: pg.Pool, prefix: string, work: (schema: string, pool: pg.Pool) => Promise<T>): Promise<T> {
  const schema = scratchSchemaName(prefix);
  const c = await admin.connect();
  try {
    await createReadModelSchema(c, schema);
  } finally {
    c.release();
  }
  const pool = createPgPool(config, { max: 3, searchPath: schema, applicationName: `bench-${prefix}` });
  try {
    return await work(schema, pool);
  } finally {
    await pool.end();
    if (!args.keep) {
      const d = await admin.connect();
      try {
        await dropSchema(d, schema);
      } finally {
        d.release();
      }
    }
  }
}

/** user_stats must equal the aggregate over sessions, row for row, to the bit. */
async function statsExact(pool: pg.Pool): Promise<boolean> {
  const cols = USER_STATS_COLUMNS.join(', ');
  const r = await pool.query<{ n: number }>(`
    SELECT count(*)::int AS n FROM (
      (SELECT ${cols} FROM user_stats EXCEPT SELECT * FROM (${USER_STATS_FROM_SESSIONS}) a)
      UNION ALL
      (SELECT * FROM (${USER_STATS_FROM_SESSIONS}) a EXCEPT SELECT ${cols} FROM user_stats)
    ) diff`);
  return r.rows[0]?.n === 0;
}

function histogramQuantiles(buckets: Array<{ le: number; count: number }>, total: number, qs: number[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const q of qs) {
    const b = buckets.find((x) => x.count >= q * total);
    out[`p${Math.round(q * 100)}`] = b === undefined || !Number.isFinite(b.le) ? null : b.le;
  }
  return out;
}

async function freshnessBuckets(registry: Registry): Promise<{ buckets: Array<{ le: number; count: number }>; total: number }> {
  const metric = registry.getSingleMetric('consumer_freshness_seconds');
  const values = metric ? (await metric.get()).values : [];
  const buckets = values
    .filter((v) => (v as { metricName?: string }).metricName === 'consumer_freshness_seconds_bucket')
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.count ?? 0;
  return { buckets, total };
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const pgAdmin = createPgPool(config, { max: 1, applicationName: 'bench-admin' });
  const topic = `bench.pg-replay.${tag}`;
  const steadyTopic = `bench.pg-steady.${tag}`;
  const dlq = `${topic}.dlq`;
  /** A consumer with the Postgres consumer's batch settings, from the earliest offset. */
  const benchConsumer = (from: string, groupId: string, pool: pg.Pool, registry: Registry) =>
    createConsumer({
      kafka,
      topic: from,
      dlqTopic: dlq,
      groupId,
      sink: createPostgresSink(createPgSessionStore(pool), logger),
      batchMaxEvents: config.PG_BATCH_MAX_EVENTS,
      batchMaxWaitMs: config.PG_BATCH_MAX_WAIT_MS,
      retryMaxBackoffMs: 2_000,
      logger,
      registry,
      fromBeginning: true,
    });
  const groups = [`${topic}.group`, `${steadyTopic}.group`];
  await createTopicsAndWait(admin, [topic, steadyTopic, dlq].map((t) => ({ topic: t, numPartitions: PARTITIONS })));
  const result: Record<string, unknown> = {
    bench: 'replay-postgres',
    events: N,
    users: USERS,
    partitions: PARTITIONS,
    batchMaxEvents: config.PG_BATCH_MAX_EVENTS,
    batchMaxWaitMs: config.PG_BATCH_MAX_WAIT_MS,
  };
  const base = Date.now() - 3_600_000;

  try {
    // ---- baseline 1: naive per-event writes, a small sample
    await withSchema(pgAdmin, 'bench_pg_naive', async (_schema, pool) => {
      const client = await pool.connect();
      try {
        const t = performance.now();
        for (let i = 0; i < SINGLE; i++) await naivePerEventWrite(client, eventAt(i, base + i));
        const perSec = SINGLE / ((performance.now() - t) / 1000);
        Object.assign(result, { naivePerEventPerSec: round(perSec), naiveSample: SINGLE, naiveStatsExact: await statsExact(pool) });
        log(`naive per-event writes: ${perSec.toFixed(0)}/s over ${SINGLE}`);
      } finally {
        client.release();
      }
    });

    // ---- baseline 2: the sink alone (same batch size, no Kafka, no decode)
    await withSchema(pgAdmin, 'bench_pg_sink', async (_schema, pool) => {
      const store = createPgSessionStore(pool);
      const sample = Array.from({ length: SINK_SAMPLE }, (_, i) => eventAt(i, base + i));
      const t = performance.now();
      for (let i = 0; i < SINK_SAMPLE; i += config.PG_BATCH_MAX_EVENTS) {
        await store.apply(projectBatch(sample.slice(i, i + config.PG_BATCH_MAX_EVENTS)));
      }
      const perSec = SINK_SAMPLE / ((performance.now() - t) / 1000);
      Object.assign(result, { sinkOnlyEventsPerSec: Math.round(perSec), sinkOnlySample: SINK_SAMPLE });
      log(`sink alone: ${perSec.toFixed(0)}/s over ${SINK_SAMPLE}`);
    });

    // ---- replay through Kafka and the consumer
    const producer = kafka.producer();
    await producer.connect();
    let t = performance.now();
    await produceEvents(producer, topic, N, (i) => eventAt(i, base + i));
    const produceSeconds = (performance.now() - t) / 1000;
    log(`produced ${N} in ${produceSeconds.toFixed(1)} s; consuming`);

    await withSchema(pgAdmin, 'bench_pg_replay', async (_schema, pool) => {
      const registry = new Registry();
      const consumer = benchConsumer(topic, groups[0]!, pool, registry);
      t = performance.now();
      const cpu0 = process.cpuUsage();
      await consumer.start();
      await consumer.whenCaughtUp(900_000);
      const seconds = (performance.now() - t) / 1000;
      const cpu = process.cpuUsage(cpu0);
      await consumer.stop();
      const rows = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions')).rows[0]?.n ?? 0;
      const exact = await statsExact(pool);
      const perSec = N / seconds;
      // How much of the replay the sink spent writing: near 1 means Postgres is the bottleneck.
      const writeSeconds = (await registry.getSingleMetric('consumer_write_duration_seconds')!.get()).values.find(
        (v) => (v as { metricName?: string }).metricName === 'consumer_write_duration_seconds_sum',
      )?.value ?? 0;
      Object.assign(result, {
        produceSeconds: round(produceSeconds),
        replaySeconds: round(seconds),
        replayEventsPerSec: Math.round(perSec),
        goalEventsPerSec: 50_000,
        sessionsRows: rows,
        statsExact: exact,
        replayVsNaiveRatio: round(perSec / (result.naivePerEventPerSec as number)),
        replaySinkBusyShare: round(writeSeconds / seconds),
        // CPU of this process (fetch, decode, projection, COPY encoding) per event; Postgres and
        // Kafka run in their own processes on the same 2 cores.
        replayConsumerCpuUsPerEvent: round((cpu.user + cpu.system) / N, 1),
      });
      log(`replay: ${N} events in ${seconds.toFixed(2)} s (${perSec.toFixed(0)}/s), ${rows} sessions, stats exact: ${exact}`);
    });

    // ---- freshness at a steady rate
    if (STEADY_S > 0 && RATE > 0) {
      await withSchema(pgAdmin, 'bench_pg_steady', async (_schema, pool) => {
        const registry = new Registry();
        const consumer = benchConsumer(steadyTopic, groups[1]!, pool, registry);
        await consumer.start();
        const tickMs = 50;
        const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
        const ticks = Math.ceil((STEADY_S * 1000) / tickMs);
        const startAt = performance.now();
        let sent = 0;
        const pending: Promise<unknown>[] = [];
        for (let k = 0; k < ticks; k++) {
          const due = startAt + k * tickMs;
          const wait = due - performance.now();
          if (wait > 0) await Bun.sleep(wait);
          const now = Date.now();
          const messages = [];
          for (let j = 0; j < perTick; j++) {
            const m = encodeSessionCompleted(eventAt(N + sent + j, now));
            messages.push({ key: m.key, value: m.value, headers: { ...m.headers } });
          }
          sent += perTick;
          pending.push(producer.send({ topic: steadyTopic, acks: -1, messages }));
          if (pending.length > 20) await pending.shift();
        }
        await Promise.all(pending);
        const sendSeconds = (performance.now() - startAt) / 1000;
        await consumer.whenCaughtUp(120_000);
        await consumer.stop();
        const q = await pool.query<{ p50: number; p95: number; p99: number; max: number; n: number }>(`
          SELECT percentile_cont(0.50) WITHIN GROUP (ORDER BY ms) AS p50,
                 percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
                 percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                 max(ms) AS max, count(*)::int AS n
          FROM (SELECT (extract(epoch FROM projected_at - received_at) * 1000)::float8 AS ms FROM sessions) x`);
        const h = await freshnessBuckets(registry);
        const row = q.rows[0];
        Object.assign(result, {
          steadyRatePerSec: RATE,
          steadySeconds: STEADY_S,
          steadyAchievedRatePerSec: Math.round(sent / sendSeconds),
          steadyRows: row?.n,
          freshnessToRowMs: row && { p50: round(row.p50, 1), p95: round(row.p95, 1), p99: round(row.p99, 1), max: round(row.max, 1) },
          freshnessToCommitHistogramSeconds: { ...histogramQuantiles(h.buckets, h.total, [0.5, 0.95, 0.99]), count: h.total, note: 'bucket upper bounds' },
          freshnessGoalP99Ms: 1_000,
        });
        log(`steady ${RATE}/s for ${STEADY_S} s: freshness to row p99 ${row?.p99.toFixed(1)} ms`);
      });
    }
    await producer.disconnect();
  } finally {
    if (!args.keep) {
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic, steadyTopic, dlq] }).catch(() => undefined);
    }
    await admin.disconnect();
    await pgAdmin.end();
  }
  console.log(JSON.stringify(result));
}

await main();
process.exit(0);
