/**
 * Runs every ```sql block of docs/analytics.md against the real ClickHouse (18.16), in a fresh
 * database holding known events (plus redeliveries of some), and checks each answer against
 * the same numbers computed from the events (analytics-docs-cases.ts, shared with the chdb tier).
 * A block without a check fails the suite, so the doc cannot grow an untested query.
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { createClickHouseInserter } from '../../../consumers/clickhouse/inserter.ts';
import { BLOCKS, checks, knownRows, type Row } from './analytics-docs-cases.ts';
import { clientFor, freshDatabase, select, testClickHouse } from './support.ts';

// Made at module level so its cleanup registers on the file (not inside a hook).
const database = await freshDatabase('docs');
const run = (sql: string) => {
  const client = clientFor(database);
  return select<Row>(client, sql).finally(() => client.close());
};

beforeAll(async () => {
  const inserter = createClickHouseInserter(testClickHouse, database);
  const { first, again } = knownRows();
  await inserter.insert(first);
  await inserter.insert(again);
});

describe('docs/analytics.md queries on known data', () => {
  test('every sql block has a check, and every check a block', () => {
    expect(BLOCKS.map((b) => b.name).sort()).toEqual(Object.keys(checks).sort());
  });

  for (const block of BLOCKS) {
    test(block.name, async () => {
      const check = checks[block.name];
      if (check === undefined) throw new Error(`no check for ${block.name}`);
      check(await run(block.sql));
    });
  }

  test('after the duplicates are merged away, dedupe-aware answers and the redelivery count do not change', async () => {
    const before = new Map<string, Row[]>();
    for (const b of BLOCKS) before.set(b.name, await run(b.sql));
    await testClickHouse.command({ query: `OPTIMIZE TABLE ${database}.session_events FINAL` });
    for (const b of BLOCKS) {
      const after = await run(b.sql);
      if (b.name === 'duplicate_rows_not_merged_yet') expect(after[0]!.duplicate_rows).toBe(0);
      else expect({ name: b.name, rows: after }).toEqual({ name: b.name, rows: before.get(b.name)! });
    }
  });
});
