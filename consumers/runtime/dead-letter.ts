/**
 * The dead-letter message: the original key, value and headers untouched, plus headers that say
 * why and where from, so someone can fix and re-publish it. Pure.
 */
import type { IHeaders } from 'kafkajs';
import type { DeadLetterKind } from './results.ts';

export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  reasonKind: 'dlq-reason-kind',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  sourceTimestamp: 'dlq-source-timestamp',
  consumerGroup: 'dlq-consumer-group',
  failedAt: 'dlq-failed-at',
} as const;

/** Header values are bytes on the wire; keep the reason readable and bounded. */
const MAX_REASON_CHARS = 2_000;

export interface SourceMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
  readonly offset: string;
  readonly timestamp: string;
}

export interface DeadLetterMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
}

export function toDeadLetter(
  message: SourceMessage,
  source: { readonly topic: string; readonly partition: number; readonly groupId: string },
  failure: { readonly reason: string; readonly reasonKind: DeadLetterKind },
  now: Date,
): DeadLetterMessage {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...(message.headers ?? {}),
      [DLQ_HEADERS.reason]: failure.reason.slice(0, MAX_REASON_CHARS),
      [DLQ_HEADERS.reasonKind]: failure.reasonKind,
      [DLQ_HEADERS.sourceTopic]: source.topic,
      [DLQ_HEADERS.sourcePartition]: String(source.partition),
      [DLQ_HEADERS.sourceOffset]: message.offset,
      [DLQ_HEADERS.sourceTimestamp]: message.timestamp,
      [DLQ_HEADERS.consumerGroup]: source.groupId,
      [DLQ_HEADERS.failedAt]: now.toISOString(),
    },
  };
}
