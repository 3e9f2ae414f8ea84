/**
 * The Postgres read-model consumer process: `bun consumers/postgres/main.ts`.
 * Settings: PG_CONSUMER_GROUP, PG_BATCH_MAX_EVENTS, PG_BATCH_MAX_WAIT_MS,
 * PG_CONSUMER_METRICS_PORT (/healthz /readyz /metrics), DATABASE_URL, KAFKA_*.
 */
import { loadConfig, type Config } from '../../src/kernel/config.ts';
import { runConsumerMain } from '../runtime/index.ts';
import { createPgPool } from '../../src/kernel/postgres/pool.ts';
import { createPostgresSink } from './sink.ts';
import { createPgSessionStore } from './store.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

await runConsumerMain({
  name: 'consumer-postgres',
  config,
  metricsPort: config.PG_CONSUMER_METRICS_PORT,
  groupId: config.PG_CONSUMER_GROUP,
  batchMaxEvents: config.PG_BATCH_MAX_EVENTS,
  batchMaxWaitMs: config.PG_BATCH_MAX_WAIT_MS,
  async makeSink(cfg, logger) {
    // One batch transaction at a time; a second connection serves /readyz pings meanwhile.
    const pool = createPgPool(cfg, { max: 2, applicationName: 'consumer-postgres' });
    pool.on('error', (error) => logger.warn({ error: error.message }, 'idle Postgres connection failed'));
    const sink = createPostgresSink(createPgSessionStore(pool), logger);
    return { ...sink, close: () => pool.end() };
  },
});
