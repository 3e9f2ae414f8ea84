import { describe, expect, test } from 'bun:test';
import type { SessionEventInserter } from '../../../consumers/clickhouse/inserter.ts';
import type { SessionEventRow } from '../../../consumers/clickhouse/rows.ts';
import { createClickHouseSink } from '../../../consumers/clickhouse/sink.ts';
import { AppError } from '../../../src/kernel/errors.ts';
import { makeEvent } from '../../support/events.ts';

/** An in-memory inserter: records what was written, or fails the first `failures` calls. */
function memoryInserter(failures = 0) {
  const batches: SessionEventRow[][] = [];
  let left = failures;
  const inserter: SessionEventInserter = {
    async insert(rows) {
      if (left-- > 0) throw new AppError('STORE_UNAVAILABLE', 'down');
      batches.push([...rows]);
    },
    async ping() {},
  };
  return { inserter, batches };
}

const T = Date.parse('2026-01-31T12:00:00Z');

describe('ClickHouse sink', () => {
  test('writes one insert per batch, stamped with the injected clock', async () => {
    const { inserter, batches } = memoryInserter();
    const sink = createClickHouseSink({ inserter, now: () => T + 2_000 });
    const events = [makeEvent({ receivedAt: T, durationMs: 10 }), makeEvent({ receivedAt: T + 500, durationMs: 20 })];
    await sink.write(events);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((r) => [r.event_id, r.api_to_analytics_lag_ms])).toEqual([
      [events[0]!.id, 2_000],
      [events[1]!.id, 1_500],
    ]);
  });

  test('an empty batch makes no insert', async () => {
    const { inserter, batches } = memoryInserter();
    await createClickHouseSink({ inserter }).write([]);
    expect(batches).toHaveLength(0);
  });

  test('a failed insert rejects with a retriable error, so the runtime retries and commits nothing', async () => {
    const { inserter, batches } = memoryInserter(1);
    const sink = createClickHouseSink({ inserter, now: () => T });
    const events = [makeEvent({ receivedAt: T, durationMs: 1 })];
    const error = await sink.write(events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).retriable).toBe(true);
    await sink.write(events);
    expect(batches).toHaveLength(1);
  });
});
