/**
 * The API process. `bun src/server.ts` serves on HTTP_HOST:HTTP_PORT; with API_WORKERS=N it
 * supervises N worker processes that share the port (SO_REUSEPORT: the kernel spreads
 * connections), each with its own producer.
 *
 * Shutdown (SIGTERM/SIGINT): readiness turns 503, new requests get 503, the producer flushes,
 * every pending request gets its answer, the broker connection closes, exit 0, all within
 * SHUTDOWN_TIMEOUT_MS.
 */
import type { Server } from 'bun';
import type { AnyElysia } from 'elysia';
import type { Metric } from 'prom-client';
import { createPgPool } from './kernel/postgres/pool.ts';
import { createAnalyticsRoutes, createKafkaConsumerLagProbe } from './analytics/index.ts';
import { createClickHouseClient, readOnlyCredentials } from './kernel/clickhouse/client.ts';
import { createReadRoutes } from './reads/index.ts';
import { readReplicaLagMetrics } from './reads/replica-lag.ts';
import { publicKeys } from './kernel/api-keys.ts';
import { type Config, loadConfig } from './kernel/config.ts';
import { AppError, describeError, isAppError } from './kernel/errors.ts';
import { createApp } from './http/app.ts';
import { type Authenticator, createAuthenticator } from './http/auth.ts';
import { type ApiMetrics, createApiMetrics } from './http/metrics.ts';
import { createKafka } from './kernel/kafka/client.ts';
import { enforceTopicDurability } from './kernel/kafka/topic-durability.ts';
import { GroupCommitProducer } from './kafka/group-commit.ts';
import { type KafkaTransport, createKafkaTransport } from './kafka/producer.ts';
import { MemoryGovernor } from './kernel/memory-governor.ts';
import { createLogger, type Logger } from './kernel/observability/logger.ts';
import { createRegistry } from './kernel/observability/metrics.ts';
import { createSessionRoutes } from './sessions/index.ts';
import { createRecentRequestKeys } from './sessions/recent-keys.ts';
import type { SessionDeps } from './sessions/service.ts';

export interface ApiHandle {
  readonly url: string;
  readonly server: Server<unknown>;
  readonly producer: GroupCommitProducer;
  readonly transport: KafkaTransport;
  readonly metrics: ApiMetrics;
  /** Resolves once the producer is connected (the API is ready for writes). */
  readonly connected: Promise<void>;
  /** Drains and stops; idempotent. */
  shutdown(): Promise<void>;
}

export interface ApiOverrides {
  readonly port?: number;
  readonly topic?: string;
  readonly session?: Partial<SessionDeps>;
  /** Extra feature plugins (read model, analytics) mounted after the write path. */
  readonly plugins?: readonly AnyElysia[];
  readonly onShutdown?: () => Promise<void>;
}

/**
 * API keys from the configuration; no keys and auth not disabled is a start-up error (every
 * request would be refused). Disabling auth is allowed only in development, loudly.
 */
function authenticatorFor(config: Config, logger: Logger): Authenticator | undefined {
  if (config.AUTH_DISABLED) {
    logger.warn('AUTH IS DISABLED (APP_ENV=development, AUTH_DISABLED=true): every endpoint is open. Never run this in production.');
    return undefined;
  }
  if (config.API_KEYS.length === 0) {
    throw new AppError(
      'CONFIG_INVALID',
      'API_KEYS is empty, so every request would be refused. Create a key with `bun scripts/api-key.ts create --name NAME --scopes ingest,read` and set API_KEYS, or (development only) set APP_ENV=development AUTH_DISABLED=true.',
    );
  }
  const exposed = publicKeys(config.API_KEYS);
  if (exposed.length > 0 && config.APP_ENV === 'production') {
    throw new AppError(
      'CONFIG_INVALID',
      `API_KEYS holds a key whose secret is public (${exposed.join(', ')}: the demo key once shipped in compose.yaml). Anyone could use it: make your own with \`bun scripts/api-key.ts create --name NAME --scopes ingest,read\` and put its entry in API_KEYS.`,
    );
  }
  return createAuthenticator(config.API_KEYS);
}

/** While the broker is down, Retry-After grows by 1 s per this much outage (config RETRY_AFTER_MAX_SECONDS caps it). */
const RETRY_AFTER_STEP_MS = 5_000;

/** Starts one API instance: producer, app and HTTP server. */
export function startApi(config: Config, logger: Logger, overrides: ApiOverrides = {}): ApiHandle {
  const authenticator = authenticatorFor(config, logger); // first: refuse before opening anything
  const registry = createRegistry({ service: 'api', worker: String(config.API_WORKER_INDEX ?? 0) });
  const metrics = createApiMetrics(registry);
  const kafka = createKafka(config, logger, `-api-${process.pid}`);
  const transport = createKafkaTransport(kafka, overrides.topic ?? config.KAFKA_TOPIC, logger, { abandonAfterMs: config.PRODUCER_ACK_TIMEOUT_MS });
  const producer = new GroupCommitProducer(
    transport,
    {
      lingerMs: config.PRODUCER_LINGER_MS,
      maxBatchEvents: config.PRODUCER_MAX_BATCH_EVENTS,
      maxInFlightBatches: config.PRODUCER_MAX_IN_FLIGHT_BATCHES,
      maxBufferEvents: config.PRODUCER_BUFFER_MAX_EVENTS,
      maxBufferBytes: config.PRODUCER_BUFFER_MAX_BYTES,
      ackTimeoutMs: config.PRODUCER_ACK_TIMEOUT_MS,
      retryAfterSeconds: config.RETRY_AFTER_SECONDS,
      retryAfterStepMs: RETRY_AFTER_STEP_MS,
      maxRetryAfterSeconds: config.RETRY_AFTER_MAX_SECONDS,
    },
    metrics.producerObserver,
  );
  metrics.watchBuffer(() => producer.depth);

  let draining = false;
  const app = createApp({
    authenticator,
    logger,
    metrics,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    accessLogSampleRate: config.ACCESS_LOG_SAMPLE_RATE,
    draining: () => draining,
    readiness: () =>
      draining
        ? { ready: false, reason: 'draining' }
        : transport.ready()
          ? { ready: true }
          : { ready: false, reason: 'not connected to Kafka' },
    plugins: [
      createSessionRoutes({
        publisher: producer,
        session: {
          now: Date.now,
          newEventId: () => Bun.randomUUIDv7(),
          maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
          // Best effort 422 IDEMPOTENCY_KEY_REUSED (src/sessions/recent-keys.ts); bounded per process.
          recentKeys: createRecentRequestKeys(),
          ...overrides.session,
        },
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        batchBodyLimitBytes: config.BATCH_BODY_LIMIT_BYTES,
        retryAfterSeconds: config.RETRY_AFTER_SECONDS,
        metrics,
      }),
      ...(overrides.plugins ?? []),
    ],
  });

  // app.listen uses Elysia's Bun adapter (compiled handlers); measured faster than passing
  // app.fetch to Bun.serve.
  app.listen({
    hostname: config.HTTP_HOST,
    port: overrides.port ?? config.HTTP_PORT,
    reusePort: config.API_WORKERS > 1,
    // A backstop only: the routes enforce the exact limits with a 413 problem+json.
    maxRequestBodySize: Math.max(config.BODY_LIMIT_BYTES, config.BATCH_BODY_LIMIT_BYTES) + 1024,
    idleTimeout: 30,
  });
  const server = app.server;
  if (!server) throw new AppError('INTERNAL', 'The HTTP server did not start.');
  metrics.watchInFlight(() => server.pendingRequests);
  const stopGovernor = new MemoryGovernor({
    limitBytes: config.API_GC_THRESHOLD_MB * 1024 * 1024,
    onCollect: (_before, _after, seconds) => metrics.forcedCollections.observe(seconds),
  }).start();
  const connected = transport.connect();

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      draining = true;
      logger.info('draining: readiness is 503, new requests get 503');
      const serverClosed = server.stop(false);
      await producer.close(); // every pending request gets its answer (ack or 503)
      const deadline = Bun.sleep(config.SHUTDOWN_TIMEOUT_MS).then(() => 'timeout' as const);
      if ((await Promise.race([serverClosed.then(() => 'closed' as const), deadline])) === 'timeout') {
        logger.warn('open connections did not close in time; closing them');
        await server.stop(true);
      }
      await transport.disconnect();
      await overrides.onShutdown?.();
      stopGovernor();
      metrics.stop();
      logger.info('stopped');
    })());

  return { url: server.url.href.replace(/\/$/, ''), server, producer, transport, metrics, connected, shutdown };
}

/** Runs API_WORKERS copies of this file and forwards signals to them. */
async function superviseWorkers(config: Config, logger: Logger): Promise<never> {
  let stopping = false;
  const restarts: number[] = [];
  const spawnWorker = (index: number): Bun.Subprocess =>
    Bun.spawn([process.execPath, import.meta.path], {
      env: { ...process.env, API_WORKER_INDEX: String(index) },
      stdio: ['ignore', 'inherit', 'inherit'],
      onExit(_proc, code, signal) {
        if (stopping) return;
        // Restart a crashed worker, but give up on a crash loop (5 restarts a minute).
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && (restarts[0] ?? now) < now - 60_000) restarts.shift();
        logger.error({ index, code, signal }, 'API worker exited');
        if (restarts.length > 5) {
          logger.fatal('API workers crash in a loop; stopping');
          void stop(1);
          return;
        }
        workers[index] = spawnWorker(index);
      },
    });
  const workers = Array.from({ length: config.API_WORKERS }, (_, i) => spawnWorker(i));
  logger.info({ workers: workers.length, url: `http://${config.HTTP_HOST}:${config.HTTP_PORT}` }, 'API supervisor started');

  const stop = async (code: number) => {
    stopping = true;
    for (const w of workers) w.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    process.exit(code !== 0 ? code : codes.every((c) => c === 0) ? 0 : 1);
  };
  process.once('SIGTERM', () => void stop(0));
  process.once('SIGINT', () => void stop(0));
  return new Promise<never>(() => {});
}

type Hook = () => Promise<unknown>;
const runHooks = async (hooks: Hook[]) => {
  for (const h of hooks.splice(0)) await h().catch(() => undefined);
};

/**
 * The read side of the API: read-model routes over their own Postgres pool and the analytics
 * routes over ClickHouse. Neither shares anything with the write path, so slow reads never
 * hold a 202 back.
 */
function readAndAnalyticsPlugins(config: Config, logger: Logger, onShutdown: Hook[], metrics: Metric[] = []): AnyElysia[] {
  // READ_DATABASE_URL: a standby takes the reads; the read-your-writes caveat is in docs/scaling.md.
  const pool = createPgPool({ ...config, DATABASE_URL: config.READ_DATABASE_URL ?? config.DATABASE_URL }, {
    applicationName: 'session-pipeline-api',
    connectionTimeoutMs: 2_000,
    onIdleError: (error) => logger.warn({ err: error.message }, 'postgres pool: idle client error'),
  });
  // The analytics only read: with CLICKHOUSE_READ_USER set they cannot write or drop anything.
  const clickhouse = createClickHouseClient({ ...config, ...readOnlyCredentials(config) }, { application: 'session-pipeline-api', requestTimeoutMs: 10_000 });
  const admin = createKafka(config, logger, `-api-admin-${process.pid}`).admin();
  let adminConnected: Promise<void> | undefined;
  metrics.push(...readReplicaLagMetrics(pool));
  const lag = createKafkaConsumerLagProbe(admin, config.KAFKA_TOPIC, [config.PG_CONSUMER_GROUP, config.CH_CONSUMER_GROUP]);
  onShutdown.push(
    () => pool.end(),
    () => clickhouse.close(),
    () => (adminConnected ? admin.disconnect() : Promise.resolve()),
  );
  return [
    createReadRoutes({ pool }),
    createAnalyticsRoutes({
      clickhouse,
      database: config.CLICKHOUSE_DATABASE,
      consumerLag: async () => {
        adminConnected ??= admin.connect().catch((error: unknown) => {
          adminConnected = undefined;
          throw error;
        });
        try {
          await adminConnected;
          return await lag();
        } catch (error) {
          throw isAppError(error) ? error : new AppError('BROKER_UNAVAILABLE', 'Kafka did not answer the lag query.', { cause: error });
        }
      },
    }),
  ];
}

async function main(): Promise<void> {
  const onShutdownHooks: Hook[] = [];
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.error(isAppError(error) ? error.message : error);
    process.exit(2);
  }
  const logger = createLogger(config, { service: 'api', worker: config.API_WORKER_INDEX ?? 0 });
  if (config.API_WORKERS > 1 && config.API_WORKER_INDEX === undefined) {
    await superviseWorkers(config, logger);
    return;
  }
  let api: ApiHandle;
  const readMetrics: Metric[] = [];
  try {
    await enforceTopicDurability(config, logger);
    api = startApi(config, logger, {
      plugins: readAndAnalyticsPlugins(config, logger, onShutdownHooks, readMetrics),
      onShutdown: () => runHooks(onShutdownHooks),
    });
  } catch (error) {
    // A configuration that cannot serve (no API keys) or a port in use: say so and stop.
    console.error(isAppError(error) ? error.message : error);
    await runHooks(onShutdownHooks);
    process.exit(isAppError(error) && error.code === 'CONFIG_INVALID' ? 2 : 1);
  }
  for (const m of readMetrics) api.metrics.registry.registerMetric(m);
  logger.info({ url: api.url, topic: config.KAFKA_TOPIC, docs: `${api.url}/docs` }, 'API listening');
  void api.connected.then(() => logger.info('connected to Kafka: ready'));
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS * 2);
    hardStop.unref();
    api.shutdown().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (error) => {
        logger.error({ err: describeError(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

if (import.meta.main) await main();
