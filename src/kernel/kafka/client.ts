/**
 * The one place a kafkajs client is made. kafkajs logs through its own logger; we route it into
 * pino so every process has one log stream.
 */
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { patchKafkajsRequestQueue } from './request-queue-patch.ts';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

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
        kafkaLogger[levels[level] ?? 'info']({ label, ...extra }, message);
      },
  });
}
