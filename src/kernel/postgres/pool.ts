/** The pg Pool for the read model. `searchPath` points it at a scratch schema (tests, bench, rebuild). */
import pg from 'pg';
import type { Config } from '../config.ts';

export interface PoolOptions {
  readonly max?: number;
  readonly searchPath?: string;
  readonly applicationName?: string;
  /** How long a query waits for a free or new connection before failing (default: no limit). */
  readonly connectionTimeoutMs?: number;
  /** Told when an idle connection breaks (the pool drops it; the next query reconnects). */
  readonly onIdleError?: (error: Error) => void;
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
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectionTimeoutMs }),
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
  // An idle client losing its connection emits 'error' on the pool: unheard, it too would kill
  // the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}
