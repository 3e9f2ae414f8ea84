/**
 * Benchmark (not a test): what one change of membership costs a consumer group's freshness under
 * each group protocol, in isolation. Against the running single-node stack (`bun stack/cli.ts
 * start`); no store is written (a sink that records when each event was handed to it).
 *
 *   bun bench/group-protocols.ts [--runs=2] [--rate=500]
 *
 * For each run and each protocol (classic: kafkajs; consumer: KIP-848 through @platformatic/kafka),
 * on a fresh 6-partition topic and group, with events produced at --rate: member A runs alone,
 * then member B joins (`start()`), runs 6 s, and leaves (`stop()`), all in this process. Both
 * heartbeat every 250 ms (the cluster layout's interval; for KIP-848 set on the group through
 * IncrementalAlterConfigs, since the broker owns it). Reported: the worst freshness (handed to a
 * sink minus produced) of the events produced in each 250 ms window, at steady state before the
 * change and in the 1 s after each, and that nothing produced was missed.
 * docs/scaling.md ("The consumer group protocol, tried") has the figures and what they say.
 */
import { Admin } from '@platformatic/kafka';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { createConsumer, type BatchSink, type SessionCompleted } from '../consumers/runtime/index.ts';
import type { GroupProtocol } from '../consumers/runtime/group-source.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { EVENT_TYPE, EVENT_VERSION, encodeSessionCompleted } from '../src/kernel/events/session-completed.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { createTopicsAndWait } from '../src/kernel/kafka/topics.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '2' }, rate: { type: 'string', default: '500' } } });
const RUNS = Number(args.runs);
const RATE = Number(args.rate);
const HEARTBEAT_MS = 250;
const WINDOW_MS = 250;
const config = loadConfig({ ...process.env, KAFKA_ALLOW_UNREPLICATED: 'true' });
// kafkajs logs every classic rebalance at ERROR/WARN, which is what this measures: kept quiet.
const kafka = createKafka(config, silentLogger(), '-bench-groups');
const say = (msg: string) => console.error(`[group-protocols] ${msg}`);

function eventAt(i: number, now: number): SessionCompleted {
  const at = new Date(now).toISOString();
  return {
    id: crypto.randomUUID(),
    type: EVENT_TYPE,
    version: EVENT_VERSION,
    occurredAt: at,
    receivedAt: at,
    data: { sessionId: `gp-s-${i}`, userId: `gp-u-${i % 60}`, startedAt: new Date(now - 1_000).toISOString(), completedAt: at, outcome: 'completed' },
  };
}

/** Worst freshness of the events produced in each window, keyed by window start relative to `at`. */
function worstByWindow(sentAt: ReadonlyMap<string, number>, handed: ReadonlyMap<string, number>, at: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [id, sent] of sentAt) {
    const got = handed.get(id);
    if (got === undefined) continue;
    const w = Math.floor((sent - at) / WINDOW_MS) * WINDOW_MS;
    out.set(w, Math.max(out.get(w) ?? 0, got - sent));
  }
  return out;
}

const worstIn = (windows: Map<number, number>, from: number, to: number) =>
  Math.round(Math.max(0, ...[...windows].filter(([w]) => w >= from && w < to).map(([, v]) => v)));

async function once(protocol: GroupProtocol, run: number) {
  const topic = `bench.group-protocols.${protocol}.${Date.now().toString(36)}`;
  const groupId = `${topic}.group`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: 6, replicationFactor: 1 }, { topic: `${topic}.dlq`, numPartitions: 1, replicationFactor: 1 }]);
  if (protocol === 'consumer') {
    const groups = new Admin({ clientId: 'bench-group-protocols', bootstrapBrokers: [...config.KAFKA_BROKERS] });
    await groups.incrementalAlterConfigs({
      resources: [{ resourceType: 32 /* GROUP */, resourceName: groupId, configs: [{ name: 'consumer.heartbeat.interval.ms', configOperation: 0 /* SET */, value: String(HEARTBEAT_MS) }] }],
    });
    await groups.close();
  }
  const handed = new Map<string, number>();
  const sink: BatchSink = {
    name: 'recording',
    write: async (events) => {
      const now = performance.now();
      for (const e of events) if (!handed.has(e.id)) handed.set(e.id, now);
    },
  };
  const member = (label: string) =>
    createConsumer({
      kafka,
      groupProtocol: protocol,
      brokers: config.KAFKA_BROKERS,
      topic,
      dlqTopic: `${topic}.dlq`,
      groupId,
      sink,
      batchMaxEvents: 500,
      batchMaxWaitMs: 100,
      retryMaxBackoffMs: 200,
      logger: silentLogger(),
      registry: new Registry(),
      metricsLabel: label,
      fromBeginning: true,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: HEARTBEAT_MS,
      fetchMinBytes: 64 * 1024,
      fetchMaxWaitMs: 250,
    });

  const producer = kafka.producer();
  await producer.connect();
  const sentAt = new Map<string, number>();
  let producing = true;
  const perTick = Math.max(1, Math.round(RATE / 50));
  const load = (async () => {
    for (let i = 0; producing; i += perTick) {
      const now = performance.now();
      const events = Array.from({ length: perTick }, (_, j) => eventAt(i + j, Date.now()));
      await producer.send({ topic, acks: -1, messages: events.map((e) => ({ ...encodeSessionCompleted(e) })) });
      for (const e of events) sentAt.set(e.id, now);
      await Bun.sleep(Math.max(0, 20 - (performance.now() - now)));
    }
  })();

  const a = member('a');
  await a.start();
  await Bun.sleep(4_000);
  const b = member('b');
  const joinAt = performance.now();
  await b.start();
  await Bun.sleep(6_000);
  const leaveAt = performance.now();
  await b.stop();
  await Bun.sleep(4_000);
  producing = false;
  await load;
  await a.whenCaughtUp(30_000);
  await a.stop();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();

  const join = worstByWindow(sentAt, handed, joinAt);
  const leave = worstByWindow(sentAt, handed, leaveAt);
  return {
    protocol,
    run,
    steadyWorstMs: worstIn(join, -2_000, -250),
    joinWorstMs: worstIn(join, -250, 1_000),
    leaveWorstMs: worstIn(leave, -250, 1_000),
    missed: [...sentAt.keys()].filter((id) => !handed.has(id)).length,
    produced: sentAt.size,
  };
}

const rows = [];
for (let run = 1; run <= RUNS; run++) {
  for (const protocol of ['consumer', 'classic'] as const) {
    say(`run ${run}, ${protocol}…`);
    rows.push(await once(protocol, run));
  }
}
console.log(`| run | protocol | steady worst ms | around a join | around a leave | produced | missed |`);
console.log(`| --: | --- | --: | --: | --: | --: | --: |`);
for (const r of rows) console.log(`| ${r.run} | ${r.protocol} | ${r.steadyWorstMs} | ${r.joinWorstMs} | ${r.leaveWorstMs} | ${r.produced} | ${r.missed} |`);
process.exit(rows.some((r) => r.missed > 0) ? 1 : 0);
