/**
 * Dead letters, both ways: the message the consumers write to the dead-letter topic, and its
 * parsing for the people who read it (scripts/dlq.ts). Pure.
 *
 * Written: the original key and value untouched, the original headers minus any `dlq-*` header
 * the source message carried (a producer could otherwise forge why and where a message failed,
 * or make redrive take it for another message), plus headers that say why and where from, so
 * someone can fix and re-publish it. The one exception is redrive's own bookkeeping
 * (REDRIVE_HEADERS) on a message that redrive re-published: kept, so a redriven message that
 * fails again names its first failure; and trusted by a reader only when the redrive ledger
 * confirms that redrive published that very message (`originOf`).
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
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
  /** The store's code when a store refused the event (a SQLSTATE, `clickhouse-395`). */
  storeCode: 'dlq-store-code',
} as const;

/** What redrive adds to a message it re-publishes (scripts/dlq.ts). */
export const REDRIVE_HEADERS = {
  /** Where the message originally failed (topic/partition/offset). */
  source: 'dlq-redrive-source',
  /** The dead letter it was taken from (dlq topic/partition/offset). */
  from: 'dlq-redriven-from',
  at: 'dlq-redriven-at',
} as const;
const REDRIVE_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(REDRIVE_HEADERS));

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

/** The source headers a dead letter keeps: all but `dlq-*`, except redrive's bookkeeping. */
export function keptSourceHeaders(headers: IHeaders | undefined): IHeaders {
  const kept: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase().startsWith('dlq-') && !REDRIVE_HEADER_NAMES.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

/** The extra headers of an event a store refused. */
export const storeRejectionHeaders = (code: string): Record<string, string> => ({ [DLQ_HEADERS.storeCode]: code });

export function toDeadLetter(
  message: SourceMessage,
  source: { readonly topic: string; readonly partition: number; readonly groupId: string },
  failure: { readonly reason: string; readonly reasonKind: DeadLetterKind },
  now: Date,
  extraHeaders: Readonly<Record<string, string>> = {},
): DeadLetterMessage {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...keptSourceHeaders(message.headers),
      ...extraHeaders,
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

/** A dead letter as read back from the dead-letter topic. */
export interface DeadLetter {
  readonly dlqPartition: number;
  readonly dlqOffset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: string;
  readonly reasonKind: string;
  readonly consumerGroup: string;
  readonly failedAt: string;
  /** `topic/partition/offset` where the message failed. */
  readonly source: string;
  /** What the message's redrive header claims as its first failure (unverified: see `originOf`). */
  readonly claimedOrigin: string | undefined;
  /** The event id in the value, when the value is JSON with an `id`. */
  readonly eventId: string | undefined;
}

/** One entry of the redrive ledger (`<dlq topic>.redriven`), written by scripts/dlq.ts. */
export interface LedgerEntry {
  readonly origin: string;
  readonly redrivenAt: string;
  readonly from: string;
  readonly to: { readonly topic: string; readonly partition: number; readonly offset: string };
  readonly reason: string;
}

const headerText = (v: IHeaders[string]): string =>
  v === undefined ? '' : Array.isArray(v) ? v.map((x) => x.toString()).join(',') : v.toString();

export function parseDeadLetter(partition: number, m: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset' | 'timestamp'>): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = headerText(v);
  const source = `${headers[DLQ_HEADERS.sourceTopic] ?? '?'}/${headers[DLQ_HEADERS.sourcePartition] ?? '?'}/${headers[DLQ_HEADERS.sourceOffset] ?? '?'}`;
  let eventId: string | undefined;
  try {
    const id = (JSON.parse(m.value?.toString('utf8') ?? 'null') as { id?: unknown } | null)?.id;
    if (typeof id === 'string') eventId = id;
  } catch {
    eventId = undefined;
  }
  const failedAt = headers[DLQ_HEADERS.failedAt];
  return {
    dlqPartition: partition,
    dlqOffset: m.offset,
    key: m.key?.toString('utf8') ?? null,
    value: m.value,
    headers,
    reason: headers[DLQ_HEADERS.reason] ?? '(no reason header)',
    reasonKind: headers[DLQ_HEADERS.reasonKind] ?? '',
    consumerGroup: headers[DLQ_HEADERS.consumerGroup] ?? '',
    failedAt: failedAt ?? (Number.isFinite(Number(m.timestamp)) ? new Date(Number(m.timestamp)).toISOString() : '?'),
    source,
    claimedOrigin: headers[REDRIVE_HEADERS.source],
    eventId,
  };
}

/**
 * The message's first failure: its claimed origin when the ledger confirms that redrive published
 * this very message (the ledger entry of that origin names the position the dead letter failed
 * at), its own source otherwise. A producer that forges `dlq-redrive-source` gets nothing: its
 * dead letter is its own origin, listed and redriven as such.
 */
export function originOf(d: DeadLetter, ledger: ReadonlyMap<string, LedgerEntry>): string {
  if (d.claimedOrigin === undefined) return d.source;
  const entry = ledger.get(d.claimedOrigin);
  if (entry === undefined) return d.source;
  const at = `${entry.to.topic}/${entry.to.partition}/${entry.to.offset}`;
  return at === d.source ? d.claimedOrigin : d.source;
}
