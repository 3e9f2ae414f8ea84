/**
 * The ClickHouse sink for the shared consumer runtime: events -> rows (pure) -> one insert.
 * Idempotent by construction: session_events is a ReplacingMergeTree keyed on the event, so a
 * batch the runtime retries (or Kafka redelivers) collapses onto the rows already there, and
 * the analyst queries are dedupe-aware until merges catch up.
 */
import type { BatchSink } from '../runtime/index.ts';
import type { SessionEventInserter } from './inserter.ts';
import { toSessionEventRows } from './rows.ts';

export function createClickHouseSink(deps: {
  inserter: SessionEventInserter;
  /** Milliseconds since the epoch; injected so tests can pin ingested_at. */
  now?: () => number;
}): BatchSink {
  const now = deps.now ?? Date.now;
  return {
    name: 'clickhouse',
    async write(events) {
      if (events.length === 0) return;
      // Throwing (the inserter wraps failures as retriable STORE_UNAVAILABLE) makes the runtime
      // retry the batch with backoff and commit nothing.
      await deps.inserter.insert(toSessionEventRows(events, now()));
    },
    // ClickHouse has no transaction to roll back: the rehearsal runs the write up to the insert
    // (rows, and their JSON lines as the client encodes JSONEachRow) and sends nothing.
    async rehearse(events) {
      for (const row of toSessionEventRows(events, now())) JSON.stringify(row);
    },
    ping: () => deps.inserter.ping(),
  };
}
