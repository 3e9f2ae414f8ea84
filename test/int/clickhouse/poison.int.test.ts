/**
 * A poisoned event after the schema, on the real ClickHouse: a test-only materialized view in the
 * test's own database calls `throwIf` on one event of 3,000 (code 395). The consumer isolates it,
 * dead-letters it alone with ClickHouse's message, writes the other 2,999 (once, dedupe-aware) and
 * commits to the end (ClickHouse wrote the table before the view threw, so the refused row may be
 * there too: see `refusedRowMayLand`); after the view is dropped, `npm run dlq -- redrive` brings it back
 * (test/int/runtime/poison-support.ts).
 */
import { test } from 'bun:test';
import { createClickHouseInserter } from '../../../consumers/clickhouse/inserter.ts';
import { createClickHouseSink } from '../../../consumers/clickhouse/sink.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { makeEvent } from '../../support/events.ts';
import { expectPoisonIsolated } from '../runtime/poison-support.ts';
import { freshDatabase, select, testClickHouse } from './support.ts';

const database = await freshDatabase('poison');
const cleanups = registerCleanups();

test('one event ClickHouse refuses for good is dead-lettered alone; the other 2,999 land once; redrive brings it back', async () => {
  const t0 = Date.parse('2026-06-01T00:00:00.000Z');
  const events = Array.from({ length: 3_000 }, (_, i) => makeEvent({ sessionId: `ch-poison-${i}`, userId: `u-${i % 97}`, completedAt: t0 + i * 1_000 }));
  const poison = events[2_024]!;
  // Test-only: a view that throws on the poison event, into a table that keeps nothing.
  await testClickHouse.command({ query: `CREATE TABLE ${database}.poison_guard_sink (refused UInt8) ENGINE = Null` });
  await testClickHouse.command({
    query: `CREATE MATERIALIZED VIEW ${database}.poison_guard TO ${database}.poison_guard_sink AS SELECT throwIf(event_id = toUUID('${poison.id}')) AS refused FROM ${database}.session_events`,
  });

  await expectPoisonIsolated({
    name: 'ch-poison',
    sink: createClickHouseSink({ inserter: createClickHouseInserter(testClickHouse, database) }),
    events,
    poison,
    storeCode: 'clickhouse-395',
    reason: /^ClickHouse refused the write \(clickhouse-395\): .*throwIf/,
    async landed() {
      const rows = await select<{ id: string; n: number }>(testClickHouse, `SELECT toString(event_id) AS id, count() AS n FROM ${database}.session_events FINAL GROUP BY id`);
      return new Map(rows.map((r) => [r.id, r.n]));
    },
    liftRefusal: async () => void (await testClickHouse.command({ query: `DROP TABLE ${database}.poison_guard` })),
    refusedRowMayLand: {
      async deliveries(id) {
        const [row] = await select<{ n: number }>(testClickHouse, `SELECT count() AS n FROM ${database}.session_events WHERE event_id = toUUID('${id}')`);
        return row?.n ?? 0;
      },
    },
    cleanups,
  });
}, 180_000);
