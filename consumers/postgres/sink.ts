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
  return {
    name,
    async write(events: readonly SessionCompleted[]): Promise<WriteReport> {
      const { keys, conflicts: inBatch } = firstRequestKeys(events);
      let conflicts: KeyConflict[] = inBatch;
      const result = await store.apply({
        keys,
        rows(stored) {
          conflicts = allConflicts(events, inBatch, stored);
          if (conflicts.length === 0) return projectBatch(events);
          const refused = new Set(conflicts.map((c) => c.index));
          return projectBatch(events.filter((_, i) => !refused.has(i)));
        },
      });
      log.debug({ events: events.length, conflicts: conflicts.length, ...result }, 'batch applied');
      return { conflicts: conflicts.map((c) => ({ index: c.index, reason: conflictReason(c) })) };
    },
    ping: () => store.ping(),
    warm: () => store.warm(),
  };
}
