/**
 * The dead-letter topic, for people:
 *
 *   bun scripts/dlq.ts list [--limit N] [--json]
 *       every dead letter from the beginning: when and by which consumer group it failed, why,
 *       where it came from (topic/partition/offset), its key, its event id and a value preview,
 *       and whether it was redriven already
 *   bun scripts/dlq.ts redrive [--match TEXT] [--dry-run] [--limit N]
 *       after a fix: re-publishes each dead letter whose reason contains TEXT (case-insensitive;
 *       all when omitted) to the main topic with its original key, value and headers (the dlq-*
 *       headers dropped, a dlq-redrive-source header added) and records it on the ledger topic
 *       <KAFKA_DLQ_TOPIC>.redriven
 *
 * Untrusted bytes. Keys, values, headers and reasons come from whoever could write to the topic:
 * the listing escapes every control character (terminal escape sequences included) before it
 * reaches the screen (`escapeControl`). A dead letter's `dlq-redrive-source` header is believed
 * only when the ledger confirms that redrive published that message (`originOf` in
 * consumers/runtime/dead-letter.ts, which also parses dead letters and drops forged dlq-* headers
 * when they are written).
 *
 * Idempotence. Event ids travel in the value, so a message redriven twice changes nothing in the
 * read models (both dedupe by event id). Still, a redrive never re-publishes a message it already
 * redrove: the ledger (a compacted topic keyed by the message's original topic/partition/offset)
 * says what went out, and is read before each run. The same failed message dead-lettered by both
 * consumer groups is redriven once; a redriven message that fails again (its dead letter carries
 * dlq-redrive-source, confirmed by the ledger) is not redriven again by a later run: look at it
 * with `list`.
 * Why a ledger and not a committed consumer-group offset on the DLQ: with --match, a redrive takes
 * some messages and leaves others for a later fix; an offset would either skip those forever or
 * make the next run redrive the taken ones again.
 * A crash between the publish and the ledger write may redrive that one message again next time:
 * harmless, see above.
 *
 * Settings: KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_DLQ_TOPIC (src/kernel/config.ts).
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { type IHeaders, type Kafka, type KafkaMessage, Partitioners } from 'kafkajs';
import pino from 'pino';
import {
  type DeadLetter as ParsedDeadLetter,
  type LedgerEntry,
  REDRIVE_HEADERS,
  originOf,
  parseDeadLetter,
} from '../consumers/runtime/dead-letter.ts';
import { type Config, loadConfig } from '../src/kernel/config.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { createLogger, silentLogger } from '../src/kernel/observability/logger.ts';
import { hideKafkajsTimerWarning } from '../stack/log.ts';
import { createTopicsAndWait } from '../src/kernel/kafka/topics.ts';

/** Added to a redriven message: where it originally failed (topic/partition/offset). */
export const REDRIVE_SOURCE_HEADER = REDRIVE_HEADERS.source;
/** Added to a redriven message: the dead letter it was taken from (dlq topic/partition/offset). */
export const REDRIVE_FROM_HEADER = REDRIVE_HEADERS.from;
export const REDRIVE_AT_HEADER = REDRIVE_HEADERS.at;
export type { LedgerEntry };

export const ledgerTopicOf = (dlqTopic: string): string => `${dlqTopic}.redriven`;

/** A dead letter as listed: parsed, with its first failure resolved against the ledger. */
export interface DeadLetter extends ParsedDeadLetter {
  /** The message's first failure: `source`, or for a redriven message that failed again (ledger-confirmed), its original source. */
  readonly origin: string;
}

/**
 * Control characters (C0, DEL, C1, and the bidi controls) as visible `\\uXXXX` escapes, so
 * untrusted text cannot move the cursor, recolour or rewrite the screen.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, unicodeEscape);
}

/**
 * The same for JSON text: JSON.stringify escapes C0 inside strings but leaves DEL, C1 (such as the
 * one-byte CSI U+009B) and the bidi controls raw. Escaping those keeps the JSON valid and equal.
 */
export function escapeControlInJson(json: string): string {
  return json.replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, unicodeEscape);
}

const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Every message of `topic` from the beginning up to the high watermarks seen at the start, in
 * (partition, offset) order. An ephemeral consumer group (deleted afterwards) does the reading;
 * it commits nothing.
 */
export async function readWholeTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `dlq-cli-${randomUUID()}`;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return [];
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { high: BigInt(o.high), low: BigInt(o.low) }]));
    const pending = () => [...ends].filter(([, e]) => e.high > e.low);
    if (pending().length === 0) return [];
    const out: Array<{ partition: number; message: KafkaMessage }> = [];
    const seen = new Map<number, bigint>();
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const end = ends.get(partition);
          if (end === undefined || BigInt(message.offset) >= end.high) return;
          out.push({ partition, message });
          seen.set(partition, BigInt(message.offset));
        },
      });
      const deadline = Date.now() + timeoutMs;
      const done = () => pending().every(([p, e]) => (seen.get(p) ?? -1n) >= e.high - 1n);
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`reading ${topic} did not reach its end within ${timeoutMs} ms`);
        await Bun.sleep(50);
      }
    } finally {
      await consumer.disconnect();
    }
    return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.message.offset) - BigInt(b.message.offset)));
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

export async function readLedger(kafka: Kafka, dlqTopic: string): Promise<Map<string, LedgerEntry>> {
  const ledger = new Map<string, LedgerEntry>();
  for (const { message } of await readWholeTopic(kafka, ledgerTopicOf(dlqTopic))) {
    try {
      const entry = JSON.parse(message.value?.toString('utf8') ?? '') as LedgerEntry;
      if (typeof entry.origin !== 'string' || typeof entry.to !== 'object' || entry.to === null) continue;
      ledger.set(entry.origin, entry);
    } catch {
      // not ours; ignore
    }
  }
  return ledger;
}

export async function listDeadLetters(kafka: Kafka, dlqTopic: string): Promise<{ deadLetters: DeadLetter[]; ledger: Map<string, LedgerEntry> }> {
  const [messages, ledger] = await Promise.all([readWholeTopic(kafka, dlqTopic), readLedger(kafka, dlqTopic)]);
  const deadLetters = messages.map(({ partition, message }): DeadLetter => {
    const parsed = parseDeadLetter(partition, message);
    return { ...parsed, origin: originOf(parsed, ledger) };
  });
  return { deadLetters, ledger };
}

export interface RedriveOptions {
  readonly topic: string;
  readonly dlqTopic: string;
  /** Case-insensitive substring of the reason; all dead letters when undefined. */
  readonly match?: string;
  readonly dryRun?: boolean;
  readonly limit?: number;
  readonly now?: () => Date;
}

export interface RedriveResult {
  readonly deadLetters: number;
  /** Distinct failed messages (one per origin; both consumer groups may dead-letter the same one). */
  readonly distinct: number;
  readonly alreadyRedriven: number;
  readonly matched: number;
  readonly redriven: ReadonlyArray<{ readonly deadLetter: DeadLetter; readonly to?: LedgerEntry['to'] }>;
  readonly dryRun: boolean;
}

/** The message as it was before it failed: original key, value and headers, minus dlq-* headers. */
export function redriveMessage(d: DeadLetter, dlqTopic: string, at: Date): { key: string | null; value: Buffer | null; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.headers)) if (!k.startsWith('dlq-')) headers[k] = v;
  headers[REDRIVE_SOURCE_HEADER] = d.origin;
  headers[REDRIVE_FROM_HEADER] = `${dlqTopic}/${d.dlqPartition}/${d.dlqOffset}`;
  headers[REDRIVE_AT_HEADER] = at.toISOString();
  return { key: d.key, value: d.value, headers };
}

export async function redrive(kafka: Kafka, options: RedriveOptions): Promise<RedriveResult> {
  const now = options.now ?? (() => new Date());
  const { deadLetters, ledger } = await listDeadLetters(kafka, options.dlqTopic);
  const firstByOrigin = new Map<string, DeadLetter>();
  for (const d of deadLetters) if (!firstByOrigin.has(d.origin)) firstByOrigin.set(d.origin, d);
  const needle = options.match?.toLowerCase();
  let alreadyRedriven = 0;
  const candidates: DeadLetter[] = [];
  for (const d of firstByOrigin.values()) {
    if (ledger.has(d.origin)) {
      alreadyRedriven += 1;
      continue;
    }
    if (needle !== undefined && !d.reason.toLowerCase().includes(needle)) continue;
    candidates.push(d);
  }
  const chosen = candidates.slice(0, options.limit ?? candidates.length);
  const base = { deadLetters: deadLetters.length, distinct: firstByOrigin.size, alreadyRedriven, matched: candidates.length, dryRun: options.dryRun ?? false };
  if (options.dryRun || chosen.length === 0) return { ...base, redriven: chosen.map((deadLetter) => ({ deadLetter })) };

  const admin = kafka.admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic: ledgerTopicOf(options.dlqTopic), numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const redriven: Array<{ deadLetter: DeadLetter; to: LedgerEntry['to'] }> = [];
  try {
    for (const d of chosen) {
      const at = now();
      const [meta] = await producer.send({ topic: options.topic, acks: -1, messages: [redriveMessage(d, options.dlqTopic, at)] });
      const to = { topic: options.topic, partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? '?' };
      const entry: LedgerEntry = { origin: d.origin, redrivenAt: at.toISOString(), from: `${options.dlqTopic}/${d.dlqPartition}/${d.dlqOffset}`, to, reason: d.reason };
      await producer.send({ topic: ledgerTopicOf(options.dlqTopic), acks: -1, messages: [{ key: d.origin, value: JSON.stringify(entry) }] });
      redriven.push({ deadLetter: d, to });
    }
  } finally {
    await producer.disconnect();
  }
  return { ...base, redriven };
}

const preview = (value: Buffer | null, max = 160): string => {
  if (value === null) return '(null)';
  const text = value.toString('utf8');
  const shown = escapeControlInJson(JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text));
  return `${shown} (${value.length} bytes)`;
};

export function formatDeadLetter(d: DeadLetter, ledger: ReadonlyMap<string, LedgerEntry>): string {
  const r = ledger.get(d.origin);
  const e = escapeControl;
  const unconfirmed = d.claimedOrigin !== undefined && d.origin === d.source;
  return [
    `${d.dlqPartition}:${d.dlqOffset}  failed ${e(d.failedAt)}  group ${e(d.consumerGroup) || '?'}  source ${e(d.source)}${d.origin !== d.source ? ` (first failed at ${e(d.origin)})` : ''}`,
    `    reason   [${e(d.reasonKind)}] ${e(d.reason)}`,
    `    key      ${d.key === null ? '(null)' : e(JSON.stringify(d.key))}   event id ${d.eventId === undefined ? '(none)' : e(d.eventId)}`,
    `    value    ${preview(d.value)}`,
    ...(unconfirmed ? [`    note     claims to be a redrive of ${e(d.claimedOrigin)}; the ledger does not confirm it`] : []),
    ...(r ? [`    redriven ${e(r.redrivenAt)} -> ${e(r.to.topic)}/${r.to.partition}/${e(String(r.to.offset))}`] : []),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: [...rest],
    options: { limit: { type: 'string' }, match: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`--limit wants a positive whole number, got ${values.limit}`);
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  // Broker trouble goes to stderr as JSON lines; stdout stays the listing.
  const logger = values.json ? silentLogger() : createLogger({ LOG_LEVEL: 'error' }, { component: 'dlq' }, pino.destination({ fd: 2, sync: true }));
  const kafka = createKafka(config, logger, '-dlq-cli');

  if (command === 'list') {
    const { deadLetters, ledger } = await listDeadLetters(kafka, config.KAFKA_DLQ_TOPIC);
    const shown = deadLetters.slice(0, limit ?? deadLetters.length);
    if (values.json) {
      console.log(escapeControlInJson(JSON.stringify(shown.map((d) => ({ ...d, value: d.value?.toString('utf8') ?? null, redriven: ledger.get(d.origin) ?? null })), null, 2)));
      return 0;
    }
    const byKind = new Map<string, number>();
    for (const d of deadLetters) byKind.set(d.reasonKind, (byKind.get(d.reasonKind) ?? 0) + 1);
    const kinds = [...byKind].map(([k, n]) => `${escapeControl(k || '?')} ${n}`).join(', ');
    console.log(`${config.KAFKA_DLQ_TOPIC}: ${deadLetters.length} dead letters${shown.length < deadLetters.length ? ` (showing ${shown.length})` : ''}${kinds ? ` (${kinds})` : ''}, ${ledger.size} redriven so far\n`);
    for (const d of shown) console.log(`${formatDeadLetter(d, ledger)}\n`);
    return 0;
  }
  if (command === 'redrive') {
    const result = await redrive(kafka, {
      topic: config.KAFKA_TOPIC,
      dlqTopic: config.KAFKA_DLQ_TOPIC,
      ...(values.match === undefined ? {} : { match: values.match }),
      dryRun: values['dry-run'] ?? false,
      ...(limit === undefined ? {} : { limit }),
    });
    if (values.json) {
      console.log(escapeControlInJson(JSON.stringify({ ...result, redriven: result.redriven.map((r) => ({ ...r, deadLetter: { ...r.deadLetter, value: r.deadLetter.value?.toString('utf8') ?? null } })) }, null, 2)));
      return 0;
    }
    const verb = result.dryRun ? 'would redrive' : 'redrove';
    console.log(
      `${config.KAFKA_DLQ_TOPIC}: ${result.deadLetters} dead letters, ${result.distinct} distinct messages, ${result.alreadyRedriven} redriven before; ` +
        `${result.matched} match${values.match === undefined ? '' : ` ${JSON.stringify(values.match)}`}; ${verb} ${result.redriven.length} to ${config.KAFKA_TOPIC}`,
    );
    for (const r of result.redriven) {
      const d = r.deadLetter;
      console.log(escapeControl(`  ${d.dlqPartition}:${d.dlqOffset} (${d.origin}, event ${d.eventId ?? '?'})${r.to ? ` -> ${r.to.topic}/${r.to.partition}/${r.to.offset}` : ''}  ${d.reason.slice(0, 120)}`));
    }
    return 0;
  }
  console.error('usage: bun scripts/dlq.ts list [--limit N] [--json] | redrive [--match TEXT] [--dry-run] [--limit N] [--json]');
  return 2;
}

if (import.meta.main) {
  hideKafkajsTimerWarning();
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  }
  process.exit(process.exitCode);
}
