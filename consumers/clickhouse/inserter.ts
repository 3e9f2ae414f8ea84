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

export interface SessionEventInserter {
  /** Inserts all rows in one INSERT; throws on failure (nothing is known to be written). */
  insert(rows: readonly SessionEventRow[]): Promise<void>;
  /** Rejects when the store is unreachable (readiness). */
  ping(): Promise<void>;
}

export function createClickHouseInserter(client: ClickHouseClient, database: string): SessionEventInserter {
  if (!DATABASE_NAME_PATTERN.test(database)) {
    throw new AppError('CONFIG_INVALID', `Not a ClickHouse database name: ${JSON.stringify(database)}`);
  }
  const table = `${database}.${SESSION_EVENTS_TABLE}`;
  return {
    async insert(rows) {
      if (rows.length === 0) return;
      try {
        await client.insert({ table, values: rows as SessionEventRow[], format: 'JSONEachRow' });
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
