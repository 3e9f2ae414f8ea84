/**
 * A retried request (same Idempotency-Key, so same event id and completedAt) whose first attempt
 * also landed arrives with a different receivedAt. session_events must still hold it once after
 * dedupe (FINAL / merges), keeping the first delivery, and the rollup keeps working.
 */
import { expect, test } from 'bun:test';
import { createClickHouseInserter } from '../../../consumers/clickhouse/inserter.ts';
import { toSessionEventRow } from '../../../consumers/clickhouse/rows.ts';
import { makeEvent } from '../../support/events.ts';
import { clientFor, freshDatabase, select, testClickHouse } from './support.ts';

const database = await freshDatabase('retry');

test('two deliveries of one event with different receivedAt collapse to the first', async () => {
  const inserter = createClickHouseInserter(testClickHouse, database);
  const receivedMs = Date.UTC(2026, 10, 28, 1, 0, 0);
  const first = makeEvent({ id: '0193a000-0000-5000-8000-000000000001', receivedAt: receivedMs, durationMs: 60_000, clientLagMs: 500 });
  // The retry: same id and completedAt, received 3.2 s later by another attempt.
  const retry = { ...first, receivedAt: new Date(receivedMs + 3_200).toISOString() };
  const other = makeEvent({ receivedAt: receivedMs, durationMs: 1_000 });
  await inserter.insert([toSessionEventRow(first, receivedMs + 100), toSessionEventRow(other, receivedMs + 100)]);
  await inserter.insert([toSessionEventRow(retry, receivedMs + 4_000)]);

  const client = clientFor(database);
  try {
    const final = await select<{ n: number; received: string }>(
      client,
      `SELECT count() AS n, toString(any(received_at)) AS received FROM session_events FINAL WHERE event_id = toUUID('${first.id}')`,
    );
    expect(final).toEqual([{ n: 1, received: '2026-11-28 01:00:00' }]);
    await client.command({ query: 'OPTIMIZE TABLE session_events FINAL' });
    const merged = await select<{ n: number; ids: number }>(client, 'SELECT count() AS n, uniqExact(event_id) AS ids FROM session_events');
    expect(merged).toEqual([{ n: 2, ids: 2 }]);
    // The rollup still receives inserts after the migration recreated its view (3 deliveries).
    const rollup = await select<{ events: number }>(client, 'SELECT countMerge(events) AS events FROM session_latency_1m');
    expect(rollup).toEqual([{ events: 3 }]);
  } finally {
    await client.close();
  }
});
