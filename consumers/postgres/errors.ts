/**
 * Which Postgres errors no retry can fix. Pure: reads the SQLSTATE of the error (or of its cause).
 *
 * Refused for good (the data is at fault; the loop isolates the events behind it):
 * - class 22, data exception (a value out of range, a string Postgres cannot hold, a division by
 *   zero in a projection);
 * - class 23, integrity constraint violation (CHECK, NOT NULL, foreign or unique key);
 * - class 54, program limit exceeded (an index row too large for the value it holds);
 * - P0001, an exception raised by a trigger (the way a trigger validates a row).
 * Everything else is retried: connection trouble (08), a deadlock or serialization failure (40),
 * no memory or disk (53), an administrator's cancel or shutdown (57), a read-only replica (25006),
 * and also schema errors (42: a missing table or column). A schema error fails every batch alike:
 * dead-lettering would empty the topic into the DLQ, while the fix (a migration) belongs to an
 * operator, so the partition waits and `consumer_retries_total` shows it.
 */
export type PgVerdict = { readonly kind: 'transient' } | { readonly kind: 'rejected'; readonly code: string; readonly message: string };

const REJECTED_CLASSES = new Set(['22', '23', '54']);
const REJECTED_CODES = new Set(['P0001']);
const SQLSTATE = /^[0-9A-Z]{5}$/;

function sqlStateOf(error: unknown): { code: string; message: string } | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SQLSTATE.test(code)) return { code, message: e.message };
  }
  return undefined;
}

export function classifyPostgresError(error: unknown): PgVerdict {
  const state = sqlStateOf(error);
  if (state === undefined) return { kind: 'transient' };
  if (REJECTED_CLASSES.has(state.code.slice(0, 2)) || REJECTED_CODES.has(state.code)) {
    return { kind: 'rejected', code: state.code, message: state.message };
  }
  return { kind: 'transient' };
}
