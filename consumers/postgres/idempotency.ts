/**
 * Keyed events in a batch: the first copy of each event id wins. Pure.
 *
 * An event made from an Idempotency-Key carries `requestHash` (docs/events.md). Copies with one id
 * and one hash are the same request (a retry, a redelivery): harmless, the upsert keeps one. A copy
 * with another hash is a key reused for a different request: the first one seen is kept and the
 * other is a conflict, never projected, reported for the dead-letter topic. "First" is first in
 * the batch here, and first ever across batches through the `idempotency_keys` table (store.ts),
 * which this step hands one hash per id.
 */
import type { SessionCompleted } from '../../src/kernel/events/session-completed.ts';

export interface RequestKey {
  readonly eventId: string;
  readonly requestHash: string;
}

export interface KeyConflict {
  /** Index of the conflicting event in the batch. */
  readonly index: number;
  readonly eventId: string;
  readonly requestHash: string;
  /** The hash of the first request seen with this id (the one kept). */
  readonly firstHash: string;
}

/** The hash of the first copy of each keyed id in the batch, and the in-batch conflicts. */
export function firstRequestKeys(events: readonly SessionCompleted[]): { keys: RequestKey[]; conflicts: KeyConflict[] } {
  const first = new Map<string, string>();
  const conflicts: KeyConflict[] = [];
  events.forEach((e, index) => {
    if (e.requestHash === undefined) return;
    const eventId = e.id.toLowerCase();
    const seen = first.get(eventId);
    if (seen === undefined) first.set(eventId, e.requestHash);
    else if (seen !== e.requestHash) conflicts.push({ index, eventId, requestHash: e.requestHash, firstHash: seen });
  });
  return { keys: [...first].map(([eventId, requestHash]) => ({ eventId, requestHash })), conflicts };
}

/**
 * Every conflicting event of the batch: the in-batch ones, plus every copy of an id whose first
 * hash (`stored`: id -> hash already in the table before this batch) differs from its own.
 */
export function allConflicts(events: readonly SessionCompleted[], inBatch: readonly KeyConflict[], stored: ReadonlyMap<string, string>): KeyConflict[] {
  // Where a first hash was recorded before, it is the reference, not the batch's first copy.
  const out = new Map<number, KeyConflict>(inBatch.filter((c) => !stored.has(c.eventId)).map((c) => [c.index, c]));
  events.forEach((e, index) => {
    if (e.requestHash === undefined) return;
    const eventId = e.id.toLowerCase();
    const firstHash = stored.get(eventId);
    if (firstHash !== undefined && firstHash !== e.requestHash) out.set(index, { index, eventId, requestHash: e.requestHash, firstHash });
  });
  return [...out.values()].sort((a, b) => a.index - b.index);
}

/** The reason a conflicting event is dead-lettered with. */
export const conflictReason = (c: KeyConflict): string =>
  `IDEMPOTENCY_CONFLICT: event ${c.eventId} was first seen with request hash ${c.firstHash}; this copy has ${c.requestHash} ` +
  '(the client reused its Idempotency-Key for a different request). The first is kept.';
