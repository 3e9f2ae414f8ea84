/**
 * What one step of the pipeline says about one message or one batch. Steps return these small
 * values instead of throwing, so the run loop alone decides commits, retries and dead letters.
 */
export type DeadLetterKind =
  | 'empty'
  | 'not_json'
  | 'not_object'
  | 'unknown_type'
  | 'unsupported_version'
  | 'invalid'
  | 'other'
  /** A store refused the event for good (a constraint, a value out of range): consumer.ts. */
  | 'store_rejected'
  /** The event id was seen before with another request hash: the first is kept. */
  | 'idempotency_conflict';

export type Ok<T> = { readonly kind: 'ok'; readonly value: T };
/** Try the same work again later (after backoff); nothing is committed meanwhile. */
export type Retry = { readonly kind: 'retry'; readonly error: unknown };
/** Park the message on the dead-letter topic with the reason, and go on. */
export type DeadLetter = { readonly kind: 'dlq'; readonly reason: string; readonly reasonKind: DeadLetterKind };

export const ok = <T>(value: T): Ok<T> => ({ kind: 'ok', value });
export const retry = (error: unknown): Retry => ({ kind: 'retry', error });
export const dlq = (reason: string, reasonKind: DeadLetterKind): DeadLetter => ({ kind: 'dlq', reason, reasonKind });

/** Runs one I/O step. A throw becomes `retry` (the sink contract: throw = try the batch again). */
export async function attempt(work: () => Promise<void>): Promise<Ok<void> | Retry> {
  try {
    await work();
    return ok(undefined);
  } catch (error) {
    return retry(error);
  }
}
