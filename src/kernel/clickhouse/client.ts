/**
 * The one place a ClickHouse client is made, for the analytics consumer, the API plugin, tests
 * and the benchmark. The code names tables with their database (validated), so the client
 * needs no default database; tests and analysts' tools may still set one.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../config.ts';

export type { ClickHouseClient };

export function createClickHouseClient(
  config: Pick<Config, 'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD'>,
  options: { requestTimeoutMs?: number; application?: string; database?: string } = {},
): ClickHouseClient {
  return createClient({
    url: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    application: options.application ?? 'session-pipeline',
    ...(options.database === undefined ? {} : { database: options.database }),
  });
}

/**
 * The credentials the API's analytics routes read with: CLICKHOUSE_READ_USER (read-only: no
 * writes, no DDL; the native stack makes it) when it is set, else the app's user. The consumer
 * and the migrations keep CLICKHOUSE_USER.
 */
export function readOnlyCredentials(
  config: Pick<Config, 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_READ_USER' | 'CLICKHOUSE_READ_PASSWORD'>,
): Pick<Config, 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD'> {
  return config.CLICKHOUSE_READ_USER === undefined
    ? { CLICKHOUSE_USER: config.CLICKHOUSE_USER, CLICKHOUSE_PASSWORD: config.CLICKHOUSE_PASSWORD }
    : { CLICKHOUSE_USER: config.CLICKHOUSE_READ_USER, CLICKHOUSE_PASSWORD: config.CLICKHOUSE_READ_PASSWORD };
}
