/**
 * The ClickHouse inserter: a port the sink writes through, and its thin @clickhouse/client
 * adapter. Rows go as JSONEachRow (18.16 has no JSONCompactEachRow); numbers, not ISO strings,
 * for instants (see rows.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { AppError } from '../../src/kernel/errors.ts';
import { DATABASE_NAME_PATTERN, SESSION_EVENTS_TABLE } from '../../src/kernel/clickhouse/tables.ts';
import { storeRejected } from '../runtime/write-failure.ts';
import { classifyClickHouseError } from './errors.ts';
import type { SessionEventRow } from './rows.ts';

/** The insert's format: @clickhouse/client sends `INSERT INTO <table> FORMAT JSONEachRow`, then one JSON line per row. */
export const INSERT_FORMAT = 'JSONEachRow' as const;
/**
 * Settings of every insert: none beyond the server's defaults, on purpose (the chdb tier,
 * test/chdb/, runs the same insert with these same settings on a current ClickHouse).
 */
export const INSERT_SETTINGS: Readonly<Record<string, string | number>> = {};

/** `database.session_events`, the database name validated (it is spliced into SQL). */
export function sessionEventsTable(database: string): string {
  if (!DATABASE_NAME_PATTERN.test(database)) {
    throw new AppError('CONFIG_INVALID', `Not a ClickHouse database name: ${JSON.stringify(database)}`);
  }
  return `${database}.${SESSION_EVENTS_TABLE}`;
}

export interface SessionEventInserter {
  /** Inserts all rows in one INSERT; throws on failure (nothing is known to be written). */
  insert(rows: readonly SessionEventRow[]): Promise<void>;
  /** Rejects when the store is unreachable (readiness). */
  ping(): Promise<void>;
}

export function createClickHouseInserter(client: ClickHouseClient, database: string): SessionEventInserter {
  const table = sessionEventsTable(database);
  return {
    async insert(rows) {
      if (rows.length === 0) return;
      try {
        await client.insert({ table, values: rows as SessionEventRow[], format: INSERT_FORMAT, clickhouse_settings: { ...INSERT_SETTINGS } });
      } catch (error) {
        // Refused data is not retried (the run loop isolates it); anything else is (errors.ts).
        const verdict = classifyClickHouseError(error);
        if (verdict.kind === 'rejected') throw storeRejected('ClickHouse', verdict.code, verdict.message, error);
        throw new AppError('STORE_UNAVAILABLE', `ClickHouse insert of ${rows.length} rows into ${table} failed`, {
          cause: error,
        });
      }
    },
    async ping() {
      const result = await client.ping();
      if (!result.success) throw new AppError('STORE_UNAVAILABLE', 'ClickHouse ping failed', { cause: result.error });
    },
  };
}
