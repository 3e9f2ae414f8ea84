/**
 * The Postgres BatchSink: keyed events first (the first request of each Idempotency-Key wins,
 * idempotency.ts), then project the batch (pure) and apply it through the store port, in one
 * transaction. Conflicting copies are not projected; they come back in the write report for the
 * run loop to dead-letter as IDEMPOTENCY_CONFLICT.
 */
import type { Logger } from '../../src/kernel/observability/logger.ts';
import type { BatchSink, SessionCompleted, WriteReport } from '../runtime/index.ts';
import { allConflicts, conflictReason, firstRequestKeys, type KeyConflict } from './idempotency.ts';
import { projectBatch } from './projection.ts';
import type { SessionStore } from './store.ts';

export function createPostgresSink(store: SessionStore, logger: Logger, name = 'postgres'): BatchSink {
  const log = logger.child({ sink: name });
  /** Keyed events first, then the projection, in one store transaction (kept, or rolled back when rehearsing). */
  async function applyEvents(events: readonly SessionCompleted[], rehearsal: boolean): Promise<WriteReport> {
    const { keys, conflicts: inBatch } = firstRequestKeys(events);
    let conflicts: KeyConflict[] = inBatch;
    const result = await store.apply(
      {
        keys,
        rows(stored) {
          conflicts = allConflicts(events, inBatch, stored);
          if (conflicts.length === 0) return projectBatch(events);
          const refused = new Set(conflicts.map((c) => c.index));
          return projectBatch(events.filter((_, i) => !refused.has(i)));
        },
      },
      { rehearsal },
    );
    log.debug({ events: events.length, conflicts: conflicts.length, rehearsal, ...result }, rehearsal ? 'batch rehearsed (rolled back)' : 'batch applied');
    return { conflicts: conflicts.map((c) => ({ index: c.index, reason: conflictReason(c) })) };
  }

  return {
    name,
    write: (events) => applyEvents(events, false),
    async rehearse(events) {
      await applyEvents(events, true);
    },
    ping: () => store.ping(),
    warm: () => store.warm(),
  };
}
