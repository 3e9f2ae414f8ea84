/** The pg Pool for the read model. `searchPath` points it at a scratch schema (tests, bench, rebuild). */
import pg from 'pg';
import type { Config } from '../../src/config.ts';

export interface PoolOptions {
  readonly max?: number;
  readonly searchPath?: string;
  readonly applicationName?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function createPgPool(config: Pick<Config, 'DATABASE_URL' | 'PG_POOL_MAX'>, options: PoolOptions = {}): pg.Pool {
  if (options.searchPath !== undefined && !SCHEMA_NAME.test(options.searchPath)) {
    throw new Error(`not a plain schema name: ${options.searchPath}`);
  }
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: options.max ?? config.PG_POOL_MAX,
    application_name: options.applicationName ?? 'session-pipeline',
    ...(options.searchPath === undefined ? {} : { options: `-c search_path=${options.searchPath}` }),
  });
  // A connection that drops while checked out (pool.connect(): the batch transaction) emits
  // 'error' on its client, and pg-pool listens only while a client is idle. Unheard, that event
  // is an uncaught exception that kills the process (seen: a Postgres restart mid-batch took
  // the consumer down). The query in flight fails on its own and the batch is retried, so the
  // event needs no handling beyond being heard.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}
