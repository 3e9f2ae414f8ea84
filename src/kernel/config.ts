/**
 * The one configuration module. Every setting of every process (API, consumers, stack manager,
 * scripts) is read here, once, from an `env` argument, through a zod schema. A bad value stops
 * start-up with a message that names the variable. Nothing else in the project reads
 * `process.env`; entry points call `loadConfig(process.env)` and pass the result down. Besides
 * `env`, it reads one file: the native stack's generated passwords (STACK_CREDENTIALS_FILE), for
 * the keys `env` leaves unset.
 *
 * Every variable is documented in README.md (section "Configuration"); a unit test checks that
 * the README lists each key of `ENV_DEFAULTS`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from './errors.ts';
import { type ApiKey, parseApiKeys } from './api-keys.ts';

/** Native stack ports. compose.yaml publishes the same ones (checked by test/unit/compose). */
/** retention.ms of the topics when they are created (KAFKA_TOPIC_RETENTION_MS): seven days. */
export const DEFAULT_TOPIC_RETENTION_MS = 7 * 24 * 3600 * 1000;

export const STACK_DEFAULTS = {
  KAFKA_PORT: 19092,
  KAFKA_CONTROLLER_PORT: 19093,
  PG_PORT: 15432,
  CLICKHOUSE_HTTP_PORT: 18123,
  CLICKHOUSE_TCP_PORT: 19000,
} as const;

const DEFAULT_STACK_DIR = '.stack';
/** The repository root (this file is <root>/src/kernel/config.ts): a relative STACK_DIR is resolved against it. */
const PROJECT_ROOT = resolve(import.meta.dir, '..', '..');

/** STACK_DIR as a path: relative to the repository root, so every command finds the same stack. */
export function resolveStackDir(setting: string): string {
  return isAbsolute(setting) ? setting : resolve(PROJECT_ROOT, setting);
}

/**
 * The native stack's generated passwords (stack/credentials.ts writes the file once per
 * install; this module only reads it). They fill in only keys the environment leaves unset, and
 * only for a store the environment does not point elsewhere: the Postgres one when DATABASE_URL
 * is unset, the ClickHouse ones when CLICKHOUSE_URL is unset. Talking to the native stack means
 * using its credentials; compose, Helm or any explicit URL bring their own.
 */
export const STACK_CREDENTIALS_FILE = 'credentials.env';
const CREDENTIALS_FOR_STORE = {
  DATABASE_URL: ['PG_PASSWORD'],
  CLICKHOUSE_URL: ['CLICKHOUSE_PASSWORD', 'CLICKHOUSE_READ_USER', 'CLICKHOUSE_READ_PASSWORD'],
} as const;
export type StackCredentialKey = (typeof CREDENTIALS_FOR_STORE)[keyof typeof CREDENTIALS_FOR_STORE][number];
export type StackCredentials = Partial<Record<StackCredentialKey, string>>;

export const stackCredentialsPath = (stackDirPath: string): string => join(stackDirPath, STACK_CREDENTIALS_FILE);

/** `KEY=value` lines (comments and blank lines skipped) of `<stack dir>/credentials.env`; undefined when there is none. */
export function readStackCredentials(stackDirPath: string): StackCredentials | undefined {
  const file = stackCredentialsPath(stackDirPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('CONFIG_INVALID', `Cannot read the native stack's credentials ${file}: ${(error as Error).message}`, { cause: error });
  }
  const known = new Set<string>(Object.values(CREDENTIALS_FOR_STORE).flat());
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)=(.*?)\s*$/.exec(line);
    if (m?.[1] !== undefined && known.has(m[1])) out[m[1]] = m[2] ?? '';
  }
  return out as StackCredentials;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const port = int(1, 65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z
  .object({
    // --- deployment mode, access control and logs
    /** `development` is the only mode in which AUTH_DISABLED may be set. */
    APP_ENV: z.enum(['development', 'production']).default('production'),
    AUTH_DISABLED: bool.default(false),
    /** name:scope+scope:sha256hex[:ratePerSecond], comma-separated (see src/kernel/api-keys.ts). */
    API_KEYS: z
      .string()
      .default('')
      .transform((text, ctx): ApiKey[] => {
        try {
          return parseApiKeys(text);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Share of successful requests that get an access-log line (errors are always logged). */
    ACCESS_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.01),

    // --- native stack (stack/cli.ts); compose.yaml uses the same ports
    STACK_DIR: z.string().min(1).default(DEFAULT_STACK_DIR),
    KAFKA_PORT: port.default(STACK_DEFAULTS.KAFKA_PORT),
    KAFKA_CONTROLLER_PORT: port.default(STACK_DEFAULTS.KAFKA_CONTROLLER_PORT),
    KAFKA_HEAP: z.string().regex(/^\d+[mg]$/i, 'a JVM heap size such as 512m').default('512m'),
    /**
     * The native broker's thread counts, background intervals and JVM flags (stack/kafka.ts
     * `brokerTuningProperties` / `brokerJvmOptions`): `lean` (default) for a small machine, chosen
     * by the A/B in docs/performance.md ("Cost per event"); `stock` is the earlier set, for comparison.
     */
    KAFKA_TUNING: z.enum(['lean', 'stock']).default('lean'),
    PG_PORT: port.default(STACK_DEFAULTS.PG_PORT),
    CLICKHOUSE_HTTP_PORT: port.default(STACK_DEFAULTS.CLICKHOUSE_HTTP_PORT),
    CLICKHOUSE_TCP_PORT: port.default(STACK_DEFAULTS.CLICKHOUSE_TCP_PORT),
    STACK_START_TIMEOUT_MS: int(1_000, 600_000).default(90_000),

    // --- Kafka (defaults point at the native stack)
    KAFKA_BROKERS: z.string().min(1).optional(),
    KAFKA_CLIENT_ID: z.string().min(1).default('session-pipeline'),
    KAFKA_TOPIC: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name (letters, digits, . _ -)')
      .default('session-completed'),
    KAFKA_TOPIC_PARTITIONS: int(1, 1024).default(6),
    KAFKA_DLQ_TOPIC: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name (letters, digits, . _ -)')
      .optional(),
    KAFKA_TOPIC_RETENTION_MS: z.coerce.number().int().min(-1).default(DEFAULT_TOPIC_RETENTION_MS),
    /**
     * In production the API and consumers refuse a topic on which an acknowledged event could live
     * on one broker (replication factor or min.insync.replicas below 2); true allows it, with a warning.
     */
    KAFKA_ALLOW_UNREPLICATED: bool.default(false),

    // --- Postgres and ClickHouse (defaults point at the native stack)
    DATABASE_URL: z.url().optional(),
    /** The password in the default DATABASE_URL (the native stack's role); unused when DATABASE_URL is set. */
    PG_PASSWORD: z.string().default('sessions'),
    /** Where the API's read routes query (a streaming standby); unset: DATABASE_URL. Writes never go there. */
    READ_DATABASE_URL: z.url().optional(),
    PG_POOL_MAX: int(1, 200).default(10),
    CLICKHOUSE_URL: z.url().optional(),
    CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('sessions'),
    CLICKHOUSE_USER: z.string().default('default'),
    CLICKHOUSE_PASSWORD: z.string().default(''),
    /**
     * A read-only user for the API's analytics routes; unset: they use CLICKHOUSE_USER. The
     * consumer and the migrations always use CLICKHOUSE_USER (they write and create tables).
     */
    CLICKHOUSE_READ_USER: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a ClickHouse user name (letters, digits, _)').optional(),
    CLICKHOUSE_READ_PASSWORD: z.string().default(''),

    // --- HTTP API
    HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    HTTP_PORT: port.default(3000),
    API_WORKERS: int(1, 64).default(1),
    /** Set by the API supervisor on the processes it starts; not for users. */
    API_WORKER_INDEX: int(0, 63).optional(),
    BODY_LIMIT_BYTES: int(256, 10 * 1024 * 1024).default(16 * 1024),
    BATCH_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
    /** How far in the future completedAt may be, to allow for client clock skew. */
    MAX_CLOCK_SKEW_MS: int(0, 24 * 3600 * 1000).default(5 * 60 * 1000),
    SHUTDOWN_TIMEOUT_MS: int(100, 120_000).default(10_000),

    // --- Group-commit producer
    /**
     * 0 (default): an idle producer sends at once and batches form while one is in flight, so a
     * lone request waits for one round trip and a busy one shares it. Measured better than a
     * fixed 2 ms window at both 333 req/s (p50 ~1 ms vs ~3 ms) and closed-loop maximum.
     */
    PRODUCER_LINGER_MS: int(0, 1_000).default(0),
    PRODUCER_MAX_BATCH_EVENTS: int(1, 100_000).default(2_000),
    /** kafkajs's idempotent producer serialises sends per broker anyway; 1 keeps batches large. */
    PRODUCER_MAX_IN_FLIGHT_BATCHES: int(1, 16).default(1),
    PRODUCER_BUFFER_MAX_EVENTS: int(1, 10_000_000).default(50_000),
    PRODUCER_BUFFER_MAX_BYTES: int(1024, 2 ** 31).default(32 * 1024 * 1024),
    PRODUCER_ACK_TIMEOUT_MS: int(50, 120_000).default(2_000),
    /** Seconds advertised in Retry-After when the write path sheds load. */
    RETRY_AFTER_SECONDS: int(1, 3_600).default(1),
    /**
     * While the broker stays down, the Retry-After of the API's 503s grows from
     * RETRY_AFTER_SECONDS by 1 s per 5 s of outage, up to this: retrying clients thin out instead
     * of multiplying the load (issue 14). New requests still get a 202 as soon as it is back.
     */
    RETRY_AFTER_MAX_SECONDS: int(1, 3_600).default(5),
    /**
     * The API forces a full garbage collection when its JS heap plus external memory pass this
     * many MiB (checked every 500 ms; the next threshold is 1.5x what survived; at most 5 % of
     * the time goes to them: src/kernel/memory-governor.ts). JavaScriptCore
     * otherwise let ~110 MB of garbage pile up at 2,000 req/s (issue 14); 0 turns it off.
     */
    API_GC_THRESHOLD_MB: int(0, 65_536).default(48),

    // --- Consumers
    PG_CONSUMER_GROUP: z.string().min(1).default('session-completed.postgres'),
    PG_BATCH_MAX_EVENTS: int(1, 1_000_000).default(5_000),
    PG_BATCH_MAX_WAIT_MS: int(1, 60_000).default(200),
    PG_CONSUMER_METRICS_PORT: port.default(9464),
    CH_CONSUMER_GROUP: z.string().min(1).default('session-completed.clickhouse'),
    CH_BATCH_MAX_EVENTS: int(1, 1_000_000).default(10_000),
    CH_BATCH_MAX_WAIT_MS: int(1, 60_000).default(1_000),
    CH_CONSUMER_METRICS_PORT: port.default(9465),
    CONSUMER_RETRY_MAX_BACKOFF_MS: int(10, 600_000).default(10_000),
    /**
     * How long the group waits for a silent member (e.g. a SIGKILLed consumer) before reassigning
     * its partitions. 10 s: they move within ~10-13 s; the 30 s it was made a restarted consumer
     * wait ~40 s for its own partitions.
     */
    CONSUMER_SESSION_TIMEOUT_MS: int(6_000, 300_000).default(10_000),
    /**
     * How often a consumer heartbeats, which is how it learns that its group rebalances (a member
     * joined or left): every member stops consuming until all have rejoined, so this bounds the
     * pause a scale-out or scale-in costs. Unset: min(3 s, session timeout / 3). The cluster
     * layout sets 250 ms (docs/scaling.md); each heartbeat is one small request to the broker.
     */
    CONSUMER_HEARTBEAT_INTERVAL_MS: int(100, 100_000).optional(),
    /**
     * The consumers' group protocol. `classic` (kafkajs): every change of membership stops every
     * member of the group until all have rejoined. `consumer` (KIP-848, Kafka 4.0+, through
     * @platformatic/kafka): the broker moves partitions one by one and members that keep theirs
     * never stop; its session timeout and heartbeat interval are then the broker's
     * group.consumer.* settings, and CONSUMER_SESSION_TIMEOUT_MS / CONSUMER_HEARTBEAT_INTERVAL_MS
     * do not apply. docs/scaling.md has the A/B that chose each layout's setting.
     */
    CONSUMER_GROUP_PROTOCOL: z.enum(['classic', 'consumer']).default('classic'),
    /**
     * kafkajs fetch: the broker answers when this many bytes are ready or after
     * CONSUMER_FETCH_MAX_WAIT_MS. kafkajs's default of 1 byte made every event its own fetch at
     * ordinary rates (issue 11: ~0.3 core per consumer at 333 req/s); see docs/performance.md.
     */
    CONSUMER_FETCH_MIN_BYTES: int(1, 64 * 1024 * 1024).default(64 * 1024),
    /** Longest the broker holds a fetch that has not reached CONSUMER_FETCH_MIN_BYTES (adds to freshness at low rates). */
    CONSUMER_FETCH_MAX_WAIT_MS: int(10, 10_000).default(500),
    /**
     * Set by the project's supervisor, not by hand: it started this consumer at low CPU priority
     * (nice 19) so the start does not take the CPU from the members already serving, and this is
     * the nice value the consumer takes back once loaded and connected, before it joins its group
     * (src/kernel/start-priority.ts). Unset: the priority is left as it is.
     */
    NICE_AFTER_START: int(-20, 19).optional(),

    // --- Development switches
    PG_LOG_MIN_DURATION_MS: int(-1, 3_600_000).default(250),
    AUTO_INSTALL: bool.default(true),
  })
  .superRefine((c, ctx) => {
    if (c.AUTH_DISABLED && c.APP_ENV !== 'development') {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DISABLED'], message: 'may only be true when APP_ENV=development' });
    }
  })
  .transform((c) => ({
    ...c,
    KAFKA_BROKERS: (c.KAFKA_BROKERS ?? `127.0.0.1:${c.KAFKA_PORT}`)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    KAFKA_DLQ_TOPIC: c.KAFKA_DLQ_TOPIC ?? `${c.KAFKA_TOPIC}.dlq`,
    DATABASE_URL: c.DATABASE_URL ?? `postgres://sessions:${encodeURIComponent(c.PG_PASSWORD)}@127.0.0.1:${c.PG_PORT}/sessions`,
    CLICKHOUSE_URL: c.CLICKHOUSE_URL ?? `http://127.0.0.1:${c.CLICKHOUSE_HTTP_PORT}`,
  }));

export type Config = Readonly<z.output<typeof schema>>;
export type Env = Readonly<Record<string, string | undefined>>;

/** The variables this module reads: the README documents each one. */
export const CONFIG_KEYS: readonly string[] = Object.keys(
  (schema as unknown as { in: { shape: Record<string, unknown> } }).in.shape,
);

/**
 * Parses the configuration from `env`. Empty strings count as unset, so `FOO= cmd` falls back
 * to the default instead of failing on "". Reads `<STACK_DIR>/credentials.env` when it exists
 * (see STACK_CREDENTIALS_FILE); never writes it.
 */
export function loadConfig(env: Env): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const fromFile = new Set<string>();
  const stored = readStackCredentials(resolveStackDir(input.STACK_DIR ?? DEFAULT_STACK_DIR));
  if (stored !== undefined) {
    for (const [url, keys] of Object.entries(CREDENTIALS_FOR_STORE)) {
      if (input[url] !== undefined) continue;
      for (const key of keys) {
        const value = stored[key];
        if (input[key] !== undefined || value === undefined || value === '') continue;
        input[key] = value;
        fromFile.add(key);
      }
    }
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(config)';
      const origin = fromFile.has(name) ? ` (from ${STACK_CREDENTIALS_FILE})` : '';
      return `  ${name}=${JSON.stringify(input[name] ?? '')}${origin}: ${issue.message}`;
    });
    throw new AppError('CONFIG_INVALID', `Invalid configuration:\n${lines.join('\n')}`, {
      details: { variables: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  return Object.freeze(parsed.data);
}
