/**
 * `bun bench/scaling.ts`: scaling figures of the cluster topology (issue 13), one run, as ratios.
 *
 *  1. Ingest through HAProxy with 2, then 1 API instance (oha, closed loop, 64 connections,
 *     distinct session ids): 202s per second.
 *  2. Replay of everything the topic then holds into each store with 1, 2 and 3 consumer
 *     instances of a fresh group (Postgres tables emptied first so every replay writes the same
 *     rows): events per second from the first commit to zero lag.
 *
 * A private cluster (scripts/lib/drill/cluster.ts) on free ports in a temp folder; removed at the
 * end. Everything shares this machine's cores: the ratios say where the cores, not the design,
 * are the ceiling (docs/scaling.md reads them). Options: --seconds=N per ingest run (default 15).
 */
import pg from 'pg';
import { loadConfig } from '../src/kernel/config.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { consoleStackLog, hideKafkajsTimerWarning } from '../stack/log.ts';
import { type DrillCluster, launchDrillCluster } from '../scripts/lib/drill/cluster.ts';
import { EVENT_TYPE, EVENT_VERSION, type SessionCompleted } from '../src/kernel/events/session-completed.ts';
import { ensureOha, runOha } from './lib/oha.ts';
import { produceEvents } from './lib/replay.ts';

hideKafkajsTimerWarning();
const log = (line: string) => console.log(`[scaling ${new Date().toISOString().slice(11, 19)}] ${line}`);
const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const seconds = arg('seconds', 15);
/** Events the topic holds for the replays (ingest's, topped up by a producer): long enough to time. */
const replayEvents = arg('replay-events', 150_000);

/** A completion as the API writes it (new session each; one user in 50 repeats). */
function eventAt(i: number, receivedAtMs: number): SessionCompleted {
  const at = new Date(receivedAtMs - 40).toISOString();
  return {
    id: crypto.randomUUID(),
    type: EVENT_TYPE,
    version: EVENT_VERSION,
    occurredAt: at,
    receivedAt: new Date(receivedAtMs).toISOString(),
    data: { sessionId: `replay-s-${i}`, userId: `replay-u-${i % 5_000}`, startedAt: new Date(receivedAtMs - 60_000).toISOString(), completedAt: at, outcome: 'completed', score: i % 100 },
  };
}

async function ingest(c: DrillCluster, oha: string): Promise<{ okRps: number; p99Ms: number; non2xx: number }> {
  const at = new Date(Date.now() - 60_000).toISOString();
  const r = await runOha(oha, {
    url: `${c.topology.publicUrl}/sessions/scale-[a-z0-9]{20}/complete`,
    urlRegex: true,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'scale-user', startedAt: at, completedAt: at, score: 1 }),
    connections: 64,
    durationS: seconds,
    timeoutS: 10,
  });
  return { okRps: r.okRps, p99Ms: r.p99Ms, non2xx: r.non2xx };
}

/** Replays the whole topic with `n` instances of a fresh group; events/s from first commit to zero lag. */
async function replay(c: DrillCluster, store: 'postgres' | 'clickhouse', n: number): Promise<{ eventsPerSecond: number; events: number; seconds: number }> {
  const group = `scaling-${store}-${n}-${Date.now()}`;
  const procGroup = store === 'postgres' ? 'consumer-postgres' : 'consumer-clickhouse';
  const groupVar = store === 'postgres' ? 'PG_CONSUMER_GROUP' : 'CH_CONSUMER_GROUP';
  if (store === 'postgres') {
    const client = new pg.Client({ connectionString: c.config.DATABASE_URL });
    await client.connect();
    await client.query('TRUNCATE sessions, user_stats');
    await client.end();
  }
  const admin = createKafka(c.config, silentLogger(), '-scaling').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(c.config.KAFKA_TOPIC);
    const total = offsets.reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
    await c.supervisor.scale(procGroup, n, (i) => {
      const s = c.spec(procGroup, i);
      return { ...s, env: { ...s.env, [groupVar]: group } };
    }, 120_000);
    let first: { at: number; done: number } | undefined;
    const deadline = Date.now() + 600_000;
    for (;;) {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [c.config.KAFKA_TOPIC] });
      const done = (entry?.partitions ?? []).reduce((a, p) => {
        const low = Number(offsets.find((o) => o.partition === p.partition)?.low ?? 0);
        return a + Math.max(0, Number(p.offset) - low);
      }, 0);
      if (first === undefined && done > 0) first = { at: Date.now(), done };
      if (done >= total && first !== undefined) {
        const s = Math.max(0.001, (Date.now() - first.at) / 1000);
        return { eventsPerSecond: Math.round((total - first.done) / s), events: total, seconds: Math.round(s * 10) / 10 };
      }
      if (Date.now() > deadline) throw new Error(`${group} did not catch up in 10 min`);
      await Bun.sleep(100);
    }
  } finally {
    await c.supervisor.scale(procGroup, 0, (i) => c.spec(procGroup, i)).catch(() => undefined);
    await admin.disconnect();
  }
}

async function main(): Promise<number> {
  const oha = await ensureOha(log);
  let cluster: DrillCluster | undefined;
  try {
    log('starting a private cluster (3 brokers, 2 APIs behind HAProxy, 1 consumer per group)…');
    cluster = await launchDrillCluster(
      loadConfig(process.env),
      { api: 2, consumers: 1, env: { APP_ENV: 'development', AUTH_DISABLED: 'true', LOG_LEVEL: 'warn', KAFKA_TOPIC_PARTITIONS: '6' }, log: consoleStackLog('[scaling:stack]') },
      (c) => (cluster = c),
    );
    const c = cluster;
    // The stores' consumers stay off while we measure ingest (their CPU would count against it).
    for (const g of ['consumer-postgres', 'consumer-clickhouse'] as const) await c.supervisor.scale(g, 0, (i) => c.spec(g, i));
    const two = await ingest(c, oha);
    log(`ingest, 2 API instances: ${two.okRps} 202/s (p99 ${two.p99Ms} ms, non-2xx ${two.non2xx})`);
    await c.supervisor.remove('api-1');
    await Bun.sleep(2_000); // HAProxy's check marks it down
    const one = await ingest(c, oha);
    log(`ingest, 1 API instance: ${one.okRps} 202/s (p99 ${one.p99Ms} ms, non-2xx ${one.non2xx})`);
    {
      const admin = createKafka(c.config, silentLogger(), '-scaling-fill').admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(c.config.KAFKA_TOPIC);
      await admin.disconnect();
      const held = offsets.reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
      const producer = createKafka(c.config, silentLogger(), '-scaling-fill').producer();
      await producer.connect();
      const base = Date.now();
      if (held < replayEvents) await produceEvents(producer, c.config.KAFKA_TOPIC, replayEvents - held, (i) => eventAt(i, base + i));
      await producer.disconnect();
      log(`the topic holds ${Math.max(held, replayEvents)} events for the replays (${held} from ingest)`);
    }
    const rows: string[] = [];
    for (const store of ['postgres', 'clickhouse'] as const) {
      const base: number[] = [];
      for (const n of [1, 2, 3]) {
        const r = await replay(c, store, n);
        base.push(r.eventsPerSecond);
        log(`replay into ${store}, ${n} instance(s): ${r.eventsPerSecond} events/s (${r.events} events in ${r.seconds} s)`);
        rows.push(`| replay into ${store} | ${n} consumer instance(s) | ${r.eventsPerSecond} events/s | ${(r.eventsPerSecond / (base[0] ?? 1)).toFixed(2)} |`);
      }
    }
    console.log(
      [
        '',
        `Scaling run ${new Date().toISOString()} (bun bench/scaling.ts --seconds=${seconds}); load average at the end: ${(await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')}`,
        '',
        '| what | instances | rate | ratio to 1 |',
        '| --- | --- | --- | --- |',
        `| ingest through HAProxy (202/s) | 1 API | ${one.okRps} | 1.00 |`,
        `| ingest through HAProxy (202/s) | 2 APIs | ${two.okRps} | ${(two.okRps / Math.max(1, one.okRps)).toFixed(2)} |`,
        ...rows,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    log('cleaning up…');
    await cluster?.dispose();
  }
}

process.exit(await main());
