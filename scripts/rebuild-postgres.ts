/**
 * Rebuilds the Postgres read model from the topic.
 *
 *   bun scripts/rebuild-postgres.ts                  replay into fresh tables, then swap them in
 *   bun scripts/rebuild-postgres.ts --in-place       replay into the live tables (idempotent upsert)
 *   options: --target <schema> (default public)  --timeout-s <n> (default 3600)  --drop-old
 *            --allow-partial-history (swap even if retention already deleted part of the topic)
 *
 * Default: fresh tables, then swapped. A rebuild usually follows a change of the projection or
 * a repair; replaying in place cannot do either: the upsert's guard keeps every row whose
 * (completed_at, event_id) is already current, and nothing removes rows that should not be
 * there. So: create the tables in a scratch schema from the migration files, replay the whole
 * topic into it with a fresh consumer group (from the earliest offset), then, holding the
 * writer lock of the target schema (the live consumer waits at the start of its next batch,
 * reads go on), catch up once more to the current end of the topic and move the tables: live
 * ones to a `retired_*` schema (kept unless --drop-old), rebuilt ones into the target. The
 * table locks of the move are held only for the final ALTERs, so reads pause for milliseconds.
 *
 * --in-place is for a topic whose retention has already deleted old events (the fresh tables
 * would lose that history; the swap refuses unless --allow-partial-history), or to catch up a
 * copy restored from an older backup: it re-applies whatever is missing and changes nothing
 * else. It relies on the tables being consistent with each other (user_stats = aggregate of
 * sessions), which every batch transaction keeps; it cannot repair a hand-edited row.
 *
 * Reports events applied and events/s (one JSON line on stdout).
 */
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { createPgPool } from '../src/kernel/postgres/pool.ts';
import { assertSchemaName, createReadModelSchema, dropSchema } from '../consumers/postgres/schema.ts';
import { createPostgresSink } from '../consumers/postgres/sink.ts';
import { WRITER_LOCK_NAMESPACE } from '../consumers/postgres/store-sql.ts';
import { createPgSessionStore } from '../consumers/postgres/store.ts';
import { createConsumer } from '../consumers/runtime/index.ts';
import { loadConfig, type Config } from '../src/kernel/config.ts';
import { AppError, describeError } from '../src/kernel/errors.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { createLogger, type Logger } from '../src/kernel/observability/logger.ts';

const READ_MODEL_TABLES = ['sessions', 'user_stats'] as const;

export interface RebuildOptions {
  readonly config: Pick<Config, 'DATABASE_URL' | 'PG_POOL_MAX' | 'PG_CONSUMER_GROUP' | 'PG_BATCH_MAX_EVENTS' | 'PG_BATCH_MAX_WAIT_MS' | 'CONSUMER_RETRY_MAX_BACKOFF_MS'>;
  readonly kafka: Kafka;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly logger: Logger;
  /** The schema whose read model is rebuilt (default public). */
  readonly target?: string;
  readonly inPlace?: boolean;
  readonly timeoutMs?: number;
  readonly dropOld?: boolean;
  readonly allowPartialHistory?: boolean;
  /** Suffix for the scratch/retired schema and group names (default: time-based). */
  readonly tag?: string;
}

export interface RebuildReport {
  readonly mode: 'swap' | 'in-place';
  readonly target: string;
  readonly groupId: string;
  readonly eventsApplied: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  readonly sessions: number;
  readonly users: number;
  /** swap only: where the previous tables went (null when dropped), and how long writers waited. */
  readonly retiredSchema?: string | null;
  readonly writerPauseMs?: number;
}

async function withClient<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    return await work(c);
  } finally {
    c.release();
  }
}

async function eventsWritten(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('consumer_events_written_total');
  return metric ? (await metric.get()).values.reduce((s, v) => s + v.value, 0) : 0;
}

export async function rebuildPostgres(options: RebuildOptions): Promise<RebuildReport> {
  const { config, kafka, topic, logger } = options;
  const target = assertSchemaName(options.target ?? 'public');
  const tag = options.tag ?? `${Date.now().toString(36)}`;
  const mode = options.inPlace ? 'in-place' : 'swap';
  const scratch = assertSchemaName(`rebuild_${tag}`.slice(0, 63));
  const retired = assertSchemaName(`retired_${target}_${tag}`.slice(0, 63));
  const groupId = `${config.PG_CONSUMER_GROUP}.rebuild.${tag}`;
  const writeSchema = options.inPlace ? target : scratch;
  const timeoutMs = options.timeoutMs ?? 3_600_000;
  const log = logger.child({ component: 'rebuild-postgres', mode, target, groupId });

  const admin = createPgPool(config, { max: 2, applicationName: 'rebuild-postgres' });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  let pool: pg.Pool | undefined;
  let consumer: ReturnType<typeof createConsumer> | undefined;
  let swapped = false;
  try {
    if (!options.inPlace) {
      const offsets = await kafkaAdmin.fetchTopicOffsets(topic);
      const trimmed = offsets.filter((o) => BigInt(o.low) > 0n);
      if (trimmed.length > 0 && !options.allowPartialHistory) {
        throw new AppError(
          'INTERNAL',
          `retention has already deleted the start of ${topic} (partitions ${trimmed.map((o) => o.partition).join(', ')}); ` +
            'fresh tables would lose that history. Use --in-place, or --allow-partial-history to swap anyway.',
        );
      }
      await withClient(admin, (c) => createReadModelSchema(c, scratch));
      log.info({ scratch }, 'created fresh tables');
    }

    pool = createPgPool(config, { max: 2, searchPath: writeSchema, applicationName: 'rebuild-postgres' });
    const registry = new Registry();
    consumer = createConsumer({
      kafka,
      topic,
      dlqTopic: options.dlqTopic,
      groupId,
      sink: createPostgresSink(createPgSessionStore(pool), log, 'postgres-rebuild'),
      batchMaxEvents: config.PG_BATCH_MAX_EVENTS,
      batchMaxWaitMs: config.PG_BATCH_MAX_WAIT_MS,
      retryMaxBackoffMs: config.CONSUMER_RETRY_MAX_BACKOFF_MS,
      logger: log,
      registry,
      fromBeginning: true,
      metricsLabel: 'postgres-rebuild',
    });
    const t0 = performance.now();
    await consumer.start();
    await consumer.whenCaughtUp(timeoutMs);
    log.info({ events: await eventsWritten(registry), seconds: (performance.now() - t0) / 1000 }, 'replayed the topic');

    let writerPauseMs: number | undefined;
    if (!options.inPlace) {
      const running = consumer;
      writerPauseMs = await withClient(admin, async (c) => {
        await c.query('BEGIN');
        try {
          // The live consumer takes this lock (shared) first thing in each batch transaction:
          // while we hold it exclusively, the target tables do not change.
          await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [WRITER_LOCK_NAMESPACE, target]);
          const paused = performance.now();
          await running.whenCaughtUp(timeoutMs); // what the live consumer wrote meanwhile
          await c.query(`CREATE SCHEMA ${retired}`);
          for (const table of READ_MODEL_TABLES) await c.query(`ALTER TABLE ${target}.${table} SET SCHEMA ${retired}`);
          for (const table of READ_MODEL_TABLES) await c.query(`ALTER TABLE ${scratch}.${table} SET SCHEMA ${target}`);
          await c.query('COMMIT');
          return performance.now() - paused;
        } catch (error) {
          await c.query('ROLLBACK');
          throw error;
        }
      });
      swapped = true;
      log.info({ retired, writerPauseMs }, 'swapped the rebuilt tables in');
    }
    const seconds = (performance.now() - t0) / 1000;
    await consumer.stop();
    consumer = undefined;
    const eventsApplied = await eventsWritten(registry);

    const counts = await withClient(admin, async (c) => {
      const s = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${target}.sessions`);
      const u = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${target}.user_stats`);
      return { sessions: s.rows[0]?.n ?? 0, users: u.rows[0]?.n ?? 0 };
    });
    if (swapped) {
      await withClient(admin, async (c) => {
        await dropSchema(c, scratch); // empty now
        if (options.dropOld) await dropSchema(c, retired);
      });
    }
    await kafkaAdmin.deleteGroups([groupId]).catch((error: unknown) => log.warn({ error: describeError(error) }, 'could not delete the rebuild group'));
    return {
      mode,
      target,
      groupId,
      eventsApplied,
      seconds: Number(seconds.toFixed(2)),
      eventsPerSec: Math.round(eventsApplied / seconds),
      ...counts,
      ...(options.inPlace ? {} : { retiredSchema: options.dropOld ? null : retired, writerPauseMs: Math.round(writerPauseMs ?? 0) }),
    };
  } finally {
    if (consumer) await consumer.stop().catch(() => undefined);
    if (pool) await pool.end().catch(() => undefined);
    if (!options.inPlace && !swapped) {
      // failed before the swap: the live tables were never touched; remove the half-built copy
      await withClient(admin, (c) => dropSchema(c, scratch)).catch(() => undefined);
    }
    await kafkaAdmin.disconnect().catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      target: { type: 'string', default: 'public' },
      'in-place': { type: 'boolean', default: false },
      'timeout-s': { type: 'string', default: '3600' },
      'drop-old': { type: 'boolean', default: false },
      'allow-partial-history': { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(process.env);
  const logger = createLogger(config, { service: 'rebuild-postgres' });
  const kafka = createKafka(config, logger, '-rebuild');
  try {
    const report = await rebuildPostgres({
      config,
      kafka,
      topic: config.KAFKA_TOPIC,
      dlqTopic: config.KAFKA_DLQ_TOPIC,
      logger,
      target: args.target,
      inPlace: args['in-place'],
      timeoutMs: Number(args['timeout-s']) * 1000,
      dropOld: args['drop-old'],
      allowPartialHistory: args['allow-partial-history'],
    });
    console.log(JSON.stringify(report));
    logger.flush();
    return 0;
  } catch (error) {
    logger.error({ error: describeError(error) }, 'rebuild failed');
    logger.flush();
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

if (import.meta.main) process.exit(await main());
