/**
 * The one place a kafkajs client is made. kafkajs logs through its own logger; we route it into
 * pino so every process has one log stream.
 */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCodes } from 'kafkajs/src/protocol/error.js';
import { patchKafkajsRequestQueue } from './request-queue-patch.ts';

type Level = 'error' | 'warn' | 'info' | 'debug';

const levels: Record<number, Level> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs an error answer by its message: the message of each Kafka error type, from kafkajs's own table. */
const messageOf = (type: string): string => {
  const message = errorCodes.find((e) => e.type === type)?.message;
  if (message === undefined) throw new Error(`kafkajs has no error type ${type}`);
  return message;
};
/** The errors a group or a failover answers routinely, which kafkajs retries. */
const ROUTINE_ERRORS = new Set(
  [
    'GROUP_LOAD_IN_PROGRESS',
    'GROUP_COORDINATOR_NOT_AVAILABLE',
    'NOT_COORDINATOR_FOR_GROUP',
    'UNKNOWN_MEMBER_ID',
    'ILLEGAL_GENERATION',
    'LEADER_NOT_AVAILABLE',
    'NOT_LEADER_FOR_PARTITION',
    'FENCED_LEADER_EPOCH',
  ].map(messageOf),
);
const REBALANCING = messageOf('REBALANCE_IN_PROGRESS');

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
