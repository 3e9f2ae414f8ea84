/**
 * What the run loop does after a sink write failed. Pure.
 *
 * The sink adapters (consumers/postgres/store.ts, consumers/clickhouse/inserter.ts) classify the
 * store's error where its shape is known (SQLSTATE, ClickHouse code) and throw an AppError whose
 * `retriable` flag says which kind it is:
 * - retriable (STORE_UNAVAILABLE; and anything that is not an AppError, since an unknown error
 *   must never cost an event): the store is down, slow or busy. Retry the same batch with backoff;
 *   the partition waits, nothing is committed, nothing is skipped;
 * - not retriable (STORE_REJECTED): the store refused what is IN the batch (a constraint, a value
 *   out of a column's range). Retrying would fail forever and stall the partition, so the loop
 *   bisects the batch (bisect.ts) to find the events the store refuses, dead-letters exactly those
 *   with the store's message, writes the rest and commits.
 */
import { AppError, isAppError } from '../../src/kernel/errors.ts';

/** Why a store refused a write: what a dead letter carries and a metric counts. */
export interface Refusal {
  /** The store's own code (a SQLSTATE, `clickhouse-395`): bounded, so it can label a metric. */
  readonly code: string;
  /** The store's message, for the `dlq-reason` header. */
  readonly reason: string;
}

export type WriteFailureDecision = { readonly kind: 'retry' } | ({ readonly kind: 'isolate' } & Refusal);

/** The `details.storeCode` of a STORE_REJECTED error; `unknown` when the adapter gave none. */
const storeCodeOf = (error: AppError): string => {
  const code = error.details?.storeCode;
  return typeof code === 'string' && code.length > 0 ? code : 'unknown';
};

export function decideOnWriteFailure(error: unknown): WriteFailureDecision {
  if (!isAppError(error) || error.retriable) return { kind: 'retry' };
  return { kind: 'isolate', code: storeCodeOf(error), reason: error.message };
}

/** The error an adapter throws when the store refused the data: not retriable, code and message kept. */
export function storeRejected(store: string, code: string, storeMessage: string, cause: unknown): AppError {
  return new AppError('STORE_REJECTED', `${store} refused the write (${code}): ${storeMessage}`, {
    cause,
    details: { storeCode: code },
  });
}
