/**
 * An external subscriber of the SessionCompleted topic: small on purpose, so you can copy it.
 *
 * It relies only on what we publish (docs/events.md and the JSON Schema files in schemas/), not
 * on our TypeScript: it reads with its own consumer group, validates every message with a
 * standard JSON Schema validator (ajv), skips duplicates by event id, and commits a partition's
 * offset only after it handled the messages before it. SIGTERM / SIGINT finish the message in
 * hand, commit, leave the group and exit 0.
 *
 *   bun examples/subscriber.ts --group my-team.session-completed \
 *     [--brokers 127.0.0.1:19092] [--topic session-completed] [--from-beginning]
 *
 * It prints each event it handles as one JSON line on stdout and logs JSON lines on stderr.
 * Replace `handle` with your own work; make that work idempotent if a duplicate must never
 * count twice (see "dedupe" below for what the in-memory set does not catch).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';

/** The event as the published schema describes it (v2 is v1 plus the optional clientVersion). */
export interface SessionCompletedEvent {
  readonly id: string;
  readonly type: 'SessionCompleted';
  readonly version: number;
  readonly occurredAt: string;
  readonly receivedAt: string;
  readonly data: {
    readonly sessionId: string;
    readonly userId: string;
    readonly startedAt: string;
    readonly completedAt: string;
    readonly score?: number;
    readonly outcome: 'completed' | 'failed' | 'abandoned';
    readonly attributes?: Readonly<Record<string, string | number | boolean>>;
    readonly clientVersion?: string;
  };
}

export type Validation = { readonly ok: true; readonly event: SessionCompletedEvent } | { readonly ok: false; readonly reason: string };

export const DEFAULT_SCHEMA_DIR = resolve(import.meta.dir, '..', 'schemas');

/**
 * A validator for every published version: it loads schemas/session-completed.v<N>.json and
 * picks the schema by the message's `version` field (the event-version header says the same).
 */
export function loadEventValidator(schemaDir: string = DEFAULT_SCHEMA_DIR): (value: Buffer | string | null) => Validation {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv); // "date-time" and "uuid" are formats, checked by ajv-formats
  const byVersion = new Map<number, ValidateFunction>();
  for (const file of readdirSync(schemaDir)) {
    const match = /^session-completed\.v(\d+)\.json$/.exec(file);
    if (match) byVersion.set(Number(match[1]), ajv.compile(JSON.parse(readFileSync(join(schemaDir, file), 'utf8'))));
  }
  if (byVersion.size === 0) throw new Error(`no session-completed.v<N>.json schema in ${schemaDir}`);

  return (value) => {
    if (value === null) return { ok: false, reason: 'empty message' };
    let body: unknown;
    try {
      body = JSON.parse(value.toString());
    } catch {
      return { ok: false, reason: 'not JSON' };
    }
    const version = (body as { version?: unknown } | null)?.version;
    const validate = typeof version === 'number' ? byVersion.get(version) : undefined;
    if (!validate) return { ok: false, reason: `no schema for version ${JSON.stringify(version)}` };
    if (!validate(body)) return { ok: false, reason: ajv.errorsText(validate.errors) };
    return { ok: true, event: body as SessionCompletedEvent };
  };
}

/**
 * Dedupe: the ids of the last `capacity` handled events, oldest forgotten first. Memory stays
 * bounded (about 100 bytes an id), but a duplicate that arrives more than `capacity` events
 * after the original, or after a restart, is NOT caught: duplicates on this topic are usually
 * close together (a client retry, a broker retry, a redelivery after a rebalance), so this
 * catches the common case; an idempotent handler (e.g. an upsert keyed by event id) catches all.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}

export type LogLine = { readonly level: 'info' | 'warn' | 'error'; readonly msg: string } & Record<string, unknown>;

export interface SubscriberOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Your own group: each group gets every event; never reuse another team's. */
  readonly groupId: string;
  /** Where a group without a committed offset starts: the oldest retained event (true) or new ones only. */
  readonly fromBeginning?: boolean;
  readonly schemaDir?: string;
  /** How many recent event ids to remember for dedupe (default 100 000). */
  readonly dedupeCapacity?: number;
  /** Your work. Throw to have the message (and the rest of its batch) delivered again. */
  readonly handle: (event: SessionCompletedEvent) => Promise<void> | void;
  readonly log?: (line: LogLine) => void;
}

export interface Subscriber {
  /** Finishes the message in hand, commits what was handled, leaves the group. */
  stop(): Promise<void>;
}

const logToStderr = (line: LogLine): void => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
};

export async function startSubscriber(options: SubscriberOptions): Promise<Subscriber> {
  const log = options.log ?? logToStderr;
  const validate = loadEventValidator(options.schemaDir);
  const seen = new RecentIds(options.dedupeCapacity ?? 100_000);
  const kafka = new Kafka({
    clientId: `${options.groupId}-subscriber`,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => log({ level: entry.level === logLevel.ERROR ? 'error' : 'warn', msg: `kafkajs: ${entry.log.message}` }),
  });
  const consumer = kafka.consumer({ groupId: options.groupId });

  async function handleMessage(partition: number, message: KafkaMessage): Promise<void> {
    const result = validate(message.value);
    if (!result.ok) {
      // An example only logs and moves on; a real subscriber would park the message somewhere
      // it can be looked at (a dead-letter topic of its own), not lose it silently.
      log({ level: 'warn', msg: 'invalid message skipped', partition, offset: message.offset, reason: result.reason });
      return;
    }
    const { event } = result;
    if (seen.has(event.id)) {
      log({ level: 'info', msg: 'duplicate skipped', eventId: event.id, partition, offset: message.offset });
      return;
    }
    await options.handle(event);
    seen.add(event.id); // only once handled: a failed attempt must not hide the redelivery
  }

  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: options.fromBeginning ?? false });
  await consumer.run({
    autoCommit: false, // we commit ourselves, after the work
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      let next: string | undefined;
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break; // stopping or rebalanced: the rest is read again later
        await handleMessage(batch.partition, message);
        resolveOffset(message.offset);
        next = (BigInt(message.offset) + 1n).toString(); // a committed offset names the NEXT message to read
        await heartbeat();
      }
      if (next !== undefined) {
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
      }
    },
  });
  log({ level: 'info', msg: 'subscribed', topic: options.topic, groupId: options.groupId });

  let stopped: Promise<void> | undefined;
  return {
    stop: () => (stopped ??= consumer.disconnect()),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: '127.0.0.1:19092' },
      topic: { type: 'string', default: 'session-completed' },
      group: { type: 'string' },
      'from-beginning': { type: 'boolean', default: false },
    },
  });
  if (!values.group) {
    process.stderr.write('usage: bun examples/subscriber.ts --group <your-group> [--brokers h:p,h:p] [--topic t] [--from-beginning]\n');
    process.exit(2);
  }
  const subscriber = await startSubscriber({
    brokers: values.brokers.split(',').map((b) => b.trim()).filter(Boolean),
    topic: values.topic,
    groupId: values.group,
    fromBeginning: values['from-beginning'],
    handle: (event) => {
      process.stdout.write(`${JSON.stringify(event)}\n`);
    },
  });
  const shutdown = (signal: string) => {
    logToStderr({ level: 'info', msg: 'stopping', signal });
    subscriber.stop().then(
      () => {
        logToStderr({ level: 'info', msg: 'stopped' });
        process.exit(0);
      },
      (error: unknown) => {
        logToStderr({ level: 'error', msg: 'stop failed', error: String(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (import.meta.main) await main();
