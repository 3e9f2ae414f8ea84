/**
 * Kafka 4.1 single-node KRaft (broker and controller in one JVM), from the jars install.ts
 * fetched. Config files are regenerated on every start from the configuration; the storage is
 * formatted once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../src/kernel/config.ts';
import { withTimeout } from './deadline.ts';
import { describeExit, exec, outputTail } from './exec.ts';
import { kafkaLibsDir } from './install.ts';
import { seconds, type StackLog } from './log.ts';
import { servicePaths } from './paths.ts';
import { cmdlineHas } from './process.ts';
import { type ServiceDefinition, serviceFailure } from './service.ts';

/**
 * Broker settings the compose file must match (test/unit/compose.unit.test.ts compares them):
 * a single node, so every internal topic has replication 1 and min ISR 1.
 */
export const KAFKA_SINGLE_NODE_SETTINGS = {
  'offsets.topic.replication.factor': '1',
  'offsets.topic.num.partitions': '10',
  'transaction.state.log.replication.factor': '1',
  'transaction.state.log.min.isr': '1',
  'share.coordinator.state.topic.replication.factor': '1',
  'share.coordinator.state.topic.min.isr': '1',
  'default.replication.factor': '1',
  'min.insync.replicas': '1',
  'group.initial.rebalance.delay.ms': '0',
  'auto.create.topics.enable': 'false',
  // KIP-848 groups (CONSUMER_GROUP_PROTOCOL=consumer): the broker, not the client, owns their
  // session timeout and heartbeat interval. 10 s as the classic groups' CONSUMER_SESSION_TIMEOUT_MS
  // (a killed member's partitions move within it; Kafka's default is 45 s), a 3 s heartbeat as
  // kafkajs's (each one is a request, idle or not), and minimums low enough for the cluster
  // layout's shorter interval.
  'group.consumer.session.timeout.ms': '10000',
  'group.consumer.min.session.timeout.ms': '6000',
  'group.consumer.heartbeat.interval.ms': '3000',
  'group.consumer.min.heartbeat.interval.ms': '250',
} as const;

const NODE_ID = 1;

export type BrokerTuning = Config['KAFKA_TUNING'];

/**
 * The broker's threads and background intervals (issue 11: the broker's cost at ordinary load and
 * at idle). One function so a cluster's brokers use the same set. `stock` is what the stack ran
 * before (Kafka's defaults but fewer network/io threads); `lean` is what the A/B in
 * docs/performance.md ("Cost per event") chose, each line for the reason given beside it.
 */
export function brokerTuningProperties(tuning: BrokerTuning): Record<string, string> {
  const stock = {
    // A 2-core box: few threads are enough and keep context switches down.
    'num.network.threads': '2',
    'num.io.threads': '4',
    'num.recovery.threads.per.data.dir': '1',
  };
  if (tuning === 'stock') return stock;
  return {
    ...stock,
    // Each idle network/io thread wakes every 300 ms to poll its queue; two cores need no more.
    'num.network.threads': '1',
    'num.io.threads': '2',
    // Kafka's default is 10 scheduler threads for a handful of periodic tasks.
    'background.threads': '2',
    // The new group coordinator's event loop threads (default 4); a small machine's groups need one.
    'group.coordinator.threads': '1',
    // KRaft: the controller appends a no-op record every 500 ms by default, and the broker side
    // applies and publishes each one; 10 s still lets a stalled quorum be noticed.
    'metadata.max.idle.interval.ms': '10000',
    // High-watermark checkpoint file rewritten every 5 s by default.
    'replica.high.watermark.checkpoint.interval.ms': '30000',
    // The log cleaner (compacting __consumer_offsets) polls every 15 s by default.
    'log.cleaner.backoff.ms': '60000',
  };
}

/** The broker JVM's flags: heap, collector, and for `lean` fewer background JVM threads. */
export function brokerJvmOptions(heap: string, tuning: BrokerTuning): string[] {
  const common = [`-Xms${heap}`, `-Xmx${heap}`, '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];
  if (tuning === 'stock') {
    return [...common, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent'];
  }
  return [
    ...common,
    // One GC thread, no concurrent marking or refinement threads waking in the background; with
    // a few hundred MB of heap, young collections stay in the low milliseconds.
    '-XX:+UseSerialGC',
    // No hsperfdata file updated by the periodic task thread.
    '-XX:-UsePerfData',
    '-XX:CICompilerCount=2',
  ];
}

export function kafkaProperties(config: Config, logDir: string): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(NODE_ID),
    'controller.quorum.voters': `${NODE_ID}@127.0.0.1:${config.KAFKA_CONTROLLER_PORT}`,
    listeners: `PLAINTEXT://127.0.0.1:${config.KAFKA_PORT},CONTROLLER://127.0.0.1:${config.KAFKA_CONTROLLER_PORT}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${config.KAFKA_PORT}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': '1',
    ...KAFKA_SINGLE_NODE_SETTINGS,
    'delete.topic.enable': 'true',
    ...brokerTuningProperties(config.KAFKA_TUNING),
    'log.retention.hours': '168',
    'log.segment.bytes': String(256 * 1024 * 1024),
  };
  return `# Generated by stack/kafka.ts on every start; edit the generator, not this file.\n${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

export function log4j2Config(serverLog: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by stack/kafka.ts. The broker's own log, rotated by size. -->
<Configuration status="warn">
  <Appenders>
    <RollingFile name="server" fileName="${serverLog}" filePattern="${serverLog}.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
`;
}

/**
 * A cluster id in Kafka's format (a random UUID, base64url without padding), made here rather
 * than by `StorageTool random-uuid` to save one JVM start. Like Kafka's Uuid.randomUuid, it never
 * starts with '-' (it would read as a command-line flag).
 */
export function newClusterId(): string {
  for (;;) {
    const bytes = randomBytes(16);
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40; // version 4
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // IETF variant
    const id = bytes.toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The JVM options of every broker (the single node and each cluster member): see brokerJvmOptions. */
export const JVM_FLAGS = (heap: string, tuning: BrokerTuning = 'lean'): string[] => brokerJvmOptions(heap, tuning);

/** A kafkajs client for one probe: no retries (the caller polls) and no logging. */
function probeClient(config: Config): Kafka {
  return new Kafka({
    clientId: 'stack-readiness',
    brokers: [`127.0.0.1:${config.KAFKA_PORT}`],
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
}

export function kafkaService(config: Config): ServiceDefinition {
  const paths = servicePaths(config, 'kafka');
  const libs = kafkaLibsDir(config);
  const serverProperties = join(paths.home, 'server.properties');
  const log4j2 = join(paths.home, 'log4j2.xml');
  const serverLog = join(paths.logs, 'server.log');
  const consoleLog = join(paths.logs, 'console.log');
  const java = 'java';
  const classpath = `${libs}/*`;

  const def: ServiceDefinition = {
    name: 'kafka',
    paths,
    ports: [
      { port: config.KAFKA_PORT, label: 'Kafka PLAINTEXT listener, KAFKA_PORT' },
      { port: config.KAFKA_CONTROLLER_PORT, label: 'Kafka KRaft controller, KAFKA_CONTROLLER_PORT' },
    ],
    logFiles: [serverLog, consoleLog],
    consoleLog,
    matches: cmdlineHas('java', 'kafka.Kafka', serverProperties),
    stopSignal: 'SIGTERM',

    async prepare(log, timeoutMs) {
      mkdirSync(paths.logs, { recursive: true });
      writeFileSync(serverProperties, kafkaProperties(config, paths.data));
      writeFileSync(log4j2, log4j2Config(serverLog));
      // Formatted means meta.properties exists. Formatting goes into a side folder renamed into
      // place when done, so a crash mid-format leaves only the side folder, wiped next time.
      const formatting = `${paths.data}.formatting`;
      if (existsSync(join(paths.data, 'meta.properties'))) {
        rmSync(formatting, { recursive: true, force: true });
        return;
      }
      if (existsSync(paths.data)) {
        log.warn(`kafka: ${paths.data} has no meta.properties (an interrupted format?); wiping it`);
        rmSync(paths.data, { recursive: true, force: true });
      }
      rmSync(formatting, { recursive: true, force: true });
      const formatProps = join(paths.home, 'format.properties');
      writeFileSync(formatProps, kafkaProperties(config, formatting));
      const clusterId = newClusterId();
      const started = Date.now();
      const r = await exec(
        [java, '-Xmx256m', '-cp', classpath, `-Dlog4j2.configurationFile=${log4j2}`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', formatProps],
        { timeoutMs, cwd: paths.home, env: process.env },
      );
      if (r.code !== 0) {
        throw serviceFailure(def, `formatting the storage failed (${describeExit(r)}):\n${outputTail(r)}`);
      }
      renameSync(formatting, paths.data);
      rmSync(formatProps, { force: true });
      log.info(`kafka: formatted storage (cluster id ${clusterId}) in ${seconds(Date.now() - started)}`);
    },

    command: () => ({
      argv: [java, ...JVM_FLAGS(config.KAFKA_HEAP, config.KAFKA_TUNING), `-Dlog4j2.configurationFile=${log4j2}`, '-cp', classpath, 'kafka.Kafka', serverProperties],
      cwd: paths.home,
      env: { ...process.env },
    }),

    async probe() {
      const admin = probeClient(config).admin();
      try {
        await withTimeout(admin.connect(), 4_000, 'kafka connect');
        const cluster = await withTimeout(admin.describeCluster(), 4_000, 'kafka describeCluster');
        if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
  };
  return def;
}
