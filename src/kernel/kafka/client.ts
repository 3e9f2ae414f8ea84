/**
 * The one place a kafkajs client is made. kafkajs logs through its own logger; we route it into
 * pino so every process has one log stream.
 */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { patchKafkajsRequestQueue } from './request-queue-patch.ts';

type Level = 'error' | 'warn' | 'info' | 'debug';

const levels: Record<number, Level> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs's messages of the errors a group or a failover answers routinely, which kafkajs retries. */
const ROUTINE_ERRORS = new Set([
  "The coordinator is loading and hence can't process requests for this group",
  'The group coordinator is not available',
  'This is not the correct coordinator for this group',
  'The coordinator is not aware of this member',
  'Specified group generation id is not valid',
  'There is no leader for this topic-partition as we are in the middle of a leadership election',
  'This server is not the leader for that topic-partition',
  'The leader epoch in the request is older than the epoch on the broker',
]);
const REBALANCING = 'The group is rebalancing, so a rejoin is needed';

/**
 * The level a kafkajs log line gets in our log. kafkajs logs every error answer at ERROR, so a
 * consumer group that merely rebalances (a member joined or left: every scale step, every rolling
 * restart) wrote several ERROR lines per member, and a broker failover more; an alert on error
 * lines would fire on routine operation. Those answers, which kafkajs retries, go down a level:
 * the rebalance notice to info and its heartbeat answer to debug, the failover answers to warn,
 * and kafkajs's "Crash" / "Restarting the consumer" to warn (a crash kafkajs does not restart from
 * is logged by the consumer itself, at fatal, and the process exits). Anything else keeps its level.
 */
export function kafkajsLevel(level: number, message: string, error: unknown): Level {
  const base = levels[level] ?? 'info';
  if (base === 'error' && message.startsWith('Response ') && typeof error === 'string') {
    if (error === REBALANCING) return 'debug';
    if (ROUTINE_ERRORS.has(error)) return 'warn';
  }
  if (base === 'error' && (message.startsWith('Crash: ') || message.startsWith('Restarting the consumer in '))) return 'warn';
  if (base === 'warn' && message === 'The group is rebalancing, re-joining') return 'info';
  return base;
}

export function createKafka(
  config: Pick<Config, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>,
  logger: Logger,
  clientIdSuffix = '',
): Kafka {
  patchKafkajsRequestQueue(); // kafkajs's idle timer loops, see ./request-queue-patch.ts
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: `${config.KAFKA_CLIENT_ID}${clientIdSuffix}`,
    brokers: [...config.KAFKA_BROKERS],
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    // kafkajs is chatty at INFO (group joins, reconnects); keep WARN and above.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, label, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[kafkajsLevel(level, message, extra.error)]({ label, ...extra }, message);
      },
  });
}
