/** The Postgres BatchSink: project the batch (pure), then apply it through the store port. */
import type { Logger } from '../../src/kernel/observability/logger.ts';
import type { BatchSink, SessionCompleted } from '../runtime/index.ts';
import { projectBatch } from './projection.ts';
import type { SessionStore } from './store.ts';

export function createPostgresSink(store: SessionStore, logger: Logger, name = 'postgres'): BatchSink {
  const log = logger.child({ sink: name });
  return {
    name,
    async write(events: readonly SessionCompleted[]) {
      const result = await store.apply(projectBatch(events));
      log.debug({ events: events.length, ...result }, 'batch applied');
    },
    ping: () => store.ping(),
  };
}
