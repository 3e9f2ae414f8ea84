/**
 * The port the Postgres sink writes through, and its adapter: COPY into a temp staging table,
 * upsert into `sessions`, then bring `user_stats` up to date for exactly the users that changed
 * (a delta for users who only gained sessions, a recompute for users with a replaced one; see
 * store-sql.ts); one transaction per batch. Any error rolls the whole batch back and is rethrown:
 * as STORE_REJECTED (not retriable) when Postgres refused the data itself (errors.ts), for the run
 * loop to isolate the events it refuses; as STORE_UNAVAILABLE (retriable) otherwise.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { AppError } from '../../src/kernel/errors.ts';
import { storeRejected } from '../runtime/write-failure.ts';
import { csvChunks } from './copy-csv.ts';
import { classifyPostgresError } from './errors.ts';
import type { RequestKey } from './idempotency.ts';
import type { SessionRow } from './projection.ts';
import {
  COPY_STAGING,
  CREATE_TEMP_TABLES,
  DELETE_EMPTY_USER_STATS,
  LOCK_RECOMPUTE_USERS,
  LOCK_SESSIONS,
  LOCK_WRITER,
  RECOMPUTE_USER_STATS,
  RECORD_REQUEST_KEYS,
  UPSERT_SESSIONS,
} from './store-sql.ts';

export interface ApplyResult {
  /** Rows of the batch (one per session). */
  readonly rows: number;
  /** Sessions inserted or replaced (0 for a pure replay). */
  readonly sessionsWritten: number;
  /** Users whose stats changed: usersIncremented + usersRecomputed. */
  readonly usersAffected: number;
  /** Users whose batch only added sessions: stats updated by a delta. */
  readonly usersIncremented: number;
  /** Users with a replaced (or moved) session: stats recomputed from `sessions`. */
  readonly usersRecomputed: number;
}

/**
 * A batch with keyed events: their first request hashes are recorded in the same transaction,
 * and the rows are projected knowing which ids this batch brings with another hash than the one
 * already recorded (`stored`: id -> first hash), so those copies are never projected.
 */
export interface KeyedBatch {
  readonly keys: readonly RequestKey[];
  rows(stored: ReadonlyMap<string, string>): readonly SessionRow[];
}

export interface SessionStore {
  /**
   * Applies one batch of rows (one per session), or a keyed batch, in one transaction. Idempotent.
   * `rehearsal`: run every statement and roll the transaction back (the consumer's rehearsal
   * before it joins its group, consumers/runtime/rehearsal.ts); the counts are what it would have done.
   */
  apply(batch: readonly SessionRow[] | KeyedBatch, options?: { readonly rehearsal?: boolean }): Promise<ApplyResult>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Connects a pooled connection and creates its temp tables, so the first apply does not. */
  warm(): Promise<void>;
}

const NOTHING_APPLIED: ApplyResult = { rows: 0, sessionsWritten: 0, usersAffected: 0, usersIncremented: 0, usersRecomputed: 0 };
const isKeyed = (batch: readonly SessionRow[] | KeyedBatch): batch is KeyedBatch => !Array.isArray(batch);

export function createPgSessionStore(pool: Pool): SessionStore {
  // Temp tables live as long as their connection: create them once per pooled connection.
  const prepared = new WeakSet<PoolClient>();

  /** A pooled connection with its temp tables; a connection that cannot make them is discarded. */
  async function preparedClient(): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw new AppError('STORE_UNAVAILABLE', 'cannot connect to Postgres', { cause: error });
    }
    if (prepared.has(client)) return client;
    try {
      await client.query(CREATE_TEMP_TABLES);
    } catch (error) {
      client.release(true);
      throw new AppError('STORE_UNAVAILABLE', 'could not prepare a Postgres connection', { cause: error });
    }
    prepared.add(client);
    return client;
  }

  async function apply(batch: readonly SessionRow[] | KeyedBatch, options: { readonly rehearsal?: boolean } = {}): Promise<ApplyResult> {
    const end = options.rehearsal === true ? 'ROLLBACK' : 'COMMIT';
    // A batch with keyed events records their hashes first; any other is just its rows.
    const keyed = isKeyed(batch) && batch.keys.length > 0 ? batch : undefined;
    const direct = keyed !== undefined ? undefined : isKeyed(batch) ? batch.rows(new Map()) : batch;
    if (direct !== undefined && direct.length === 0) return NOTHING_APPLIED;
    const client = await preparedClient();
    let broken = false;
    try {
      // Three round trips per batch (the event loop may be busy decoding, so each one costs):
      // BEGIN + the shared writer lock (store-sql.ts, LOCK_WRITER), the COPY, then the row locks,
      // upsert, recompute and commit as one simple-protocol string. If a statement of that string
      // fails, the rest do not run and the catch rolls back.
      await client.query(`BEGIN; ${LOCK_WRITER}`);
      let rows: readonly SessionRow[] = direct ?? [];
      if (keyed !== undefined) {
        const { rows: reused } = await client.query<{ event_id: string; first_hash: string }>(RECORD_REQUEST_KEYS, [
          keyed.keys.map((k) => k.eventId),
          keyed.keys.map((k) => k.requestHash),
        ]);
        rows = keyed.rows(new Map(reused.map((r) => [r.event_id, r.first_hash])));
        if (rows.length === 0) {
          await client.query(end);
          return NOTHING_APPLIED;
        }
      }
      await pipeline(Readable.from(csvChunks(rows)), client.query(copyFrom(COPY_STAGING)));
      const results = (await client.query(
        `${LOCK_SESSIONS}; ${UPSERT_SESSIONS}; ${LOCK_RECOMPUTE_USERS}; ${RECOMPUTE_USER_STATS}; ${DELETE_EMPTY_USER_STATS}; ${end}`,
      )) as unknown as Array<{ rows: Array<{ sessions_written: number; users_recomputed: number; users_incremented: number }> }>;
      const counts = results[1]?.rows[0] ?? { sessions_written: 0, users_recomputed: 0, users_incremented: 0 };
      return {
        rows: rows.length,
        sessionsWritten: counts.sessions_written,
        usersAffected: counts.users_incremented + counts.users_recomputed,
        usersIncremented: counts.users_incremented,
        usersRecomputed: counts.users_recomputed,
      };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone or wedged: do not put it back in the pool
      }
      const verdict = classifyPostgresError(error);
      if (verdict.kind === 'rejected') throw storeRejected('Postgres', verdict.code, verdict.message, error);
      throw new AppError('STORE_UNAVAILABLE', 'the Postgres batch transaction failed and was rolled back', {
        cause: error,
      });
    } finally {
      client.release(broken ? true : undefined);
    }
  }

  async function warm(): Promise<void> {
    (await preparedClient()).release();
  }

  async function ping(): Promise<void> {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new AppError('STORE_UNAVAILABLE', 'Postgres is not reachable', { cause: error });
    }
  }

  return { apply, ping, warm };
}
