/**
 * The entry-point shape of every consumer process: parse the config once, make the logger,
 * registry, Kafka client and sink, serve /healthz /readyz /metrics, start, and on SIGTERM or
 * SIGINT drain, flush, commit, close the sink and exit 0. A config error exits 1 with a message
 * that names the variable; a crash kafkajs will not restart from exits 1 so a supervisor restarts
 * the process (uncommitted work is redelivered, and the sink is idempotent).
 */
import { loadConfig, type Config } from '../../src/kernel/config.ts';
import { describeError } from '../../src/kernel/errors.ts';
import { createKafka } from '../../src/kernel/kafka/client.ts';
import { enforceTopicDurability } from '../../src/kernel/kafka/topic-durability.ts';
import { createLogger } from '../../src/kernel/observability/logger.ts';
import { createRegistry } from '../../src/kernel/observability/metrics.ts';
import { restoreStartPriority } from '../../src/kernel/start-priority.ts';
import { createConsumer } from './consumer.ts';
import { startHealthServer } from './http.ts';
import type { ConsumerMainArgs } from './types.ts';

/** the process entry shape: parse config, logger, registry, HTTP /healthz /readyz /metrics on metricsPort, start, SIGTERM/SIGINT -> drain + flush + exit 0 */
export async function runConsumerMain(args: ConsumerMainArgs): Promise<void> {
  let config: Config;
  try {
    config = args.config ?? loadConfig(process.env);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
  const logger = createLogger(config, { service: args.name });
  const registry = createRegistry({ service: args.name });
  const kafka = createKafka(config, logger, `-${args.name}`);

  try {
    await enforceTopicDurability(config, logger);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }

  let live = true;
  let shuttingDown: Promise<void> | undefined;
  const sink = await args.makeSink(config, logger, registry);
  const consumer = createConsumer({
    kafka,
    topic: config.KAFKA_TOPIC,
    dlqTopic: config.KAFKA_DLQ_TOPIC,
    dlqRetentionMs: config.KAFKA_TOPIC_RETENTION_MS,
    groupId: args.groupId,
    sink,
    batchMaxEvents: args.batchMaxEvents,
    batchMaxWaitMs: args.batchMaxWaitMs,
    retryMaxBackoffMs: config.CONSUMER_RETRY_MAX_BACKOFF_MS,
    fromBeginning: args.fromBeginning ?? true,
    sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
    ...(config.CONSUMER_HEARTBEAT_INTERVAL_MS === undefined ? {} : { heartbeatIntervalMs: config.CONSUMER_HEARTBEAT_INTERVAL_MS }),
    groupProtocol: config.CONSUMER_GROUP_PROTOCOL,
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-${args.name}`,
    fetchMinBytes: config.CONSUMER_FETCH_MIN_BYTES,
    fetchMaxWaitMs: config.CONSUMER_FETCH_MAX_WAIT_MS,
    logger,
    registry,
    // Started at low priority by the supervisor (start-priority.ts): loading, connecting and the
    // rehearsal ran there, and the join and the first batches run at the priority of the members
    // already serving.
    beforeJoin: () => restoreStartPriority(config.NICE_AFTER_START, logger),
    onCrash: (error, restart) => {
      if (restart) return;
      live = false;
      logger.fatal({ error: describeError(error) }, 'consumer crashed and will not restart; exiting');
      void shutdown('crash', 1);
    },
  });
  const server = startHealthServer({
    hostname: config.HTTP_HOST,
    port: args.metricsPort,
    registry,
    isLive: () => live,
    isReady: async () => {
      if (!consumer.isJoined?.()) return false;
      if (sink.ping) await sink.ping();
      return true;
    },
  });

  function shutdown(reason: string, code: number): Promise<void> {
    shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down: draining, flushing and committing');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting without a clean drain');
        logger.flush();
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      try {
        await consumer.stop();
        await sink.close();
        await server.stop();
      } catch (error) {
        logger.error({ error: describeError(error) }, 'error while shutting down');
        code = code || 1;
      }
      clearTimeout(timer);
      logger.info({ code }, 'bye');
      logger.flush();
      process.exit(code);
    })();
    return shuttingDown;
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));

  try {
    await consumer.start();
  } catch (error) {
    logger.fatal({ error: describeError(error) }, 'consumer failed to start');
    await shutdown('start failed', 1);
    return;
  }
  logger.info(
    { port: server.port, groupId: args.groupId, groupProtocol: config.CONSUMER_GROUP_PROTOCOL, topic: config.KAFKA_TOPIC, batchMaxEvents: args.batchMaxEvents, batchMaxWaitMs: args.batchMaxWaitMs },
    `${args.name} consumer running`,
  );
}
