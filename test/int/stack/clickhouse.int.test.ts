/** The native stack's ClickHouse is real, from Bun: an insert into a fresh table and exact aggregates back. */
import { expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { createClient } from '@clickhouse/client';
import { loadConfig } from '../../../src/kernel/config.ts';
import { registerCleanups } from '../../support/cleanups.ts';

const config = loadConfig(process.env);
const cleanups = registerCleanups('file');

test('JSONEachRow insert into a fresh table, then exact aggregates back', async () => {
  const client = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
  const table = `${config.CLICKHOUSE_DATABASE}.stack_int_${randomUUID().slice(0, 8)}`;
  cleanups.push(async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  });
  await client.command({
    query: `CREATE TABLE ${table} (id UInt32, outcome String, duration_ms Int64, at DateTime('UTC')) ENGINE = MergeTree ORDER BY id`,
  });
  const base = Date.UTC(2026, 0, 1) / 1000;
  const values = Array.from({ length: 1000 }, (_, i) => ({
    id: i + 1,
    outcome: i % 4 === 0 ? 'failed' : 'completed',
    duration_ms: (i + 1) * 10,
    at: base + i, // unix seconds: 18.16 does not parse ISO strings by default
  }));
  await client.insert({ table, values, format: 'JSONEachRow' });

  const rs = await client.query({
    query: `SELECT outcome, count() AS n, sum(duration_ms) AS total, quantileExact(0.5)(duration_ms) AS p50, toString(max(at)) AS last
            FROM ${table} GROUP BY outcome ORDER BY outcome`,
    format: 'JSONEachRow',
  });
  // The expected aggregates, computed from the rows sent (quantileExact(0.5) takes the upper
  // middle element). 18.16 returns UInt64/Int64 as strings.
  const expected = ['completed', 'failed'].map((outcome) => {
    const rows = values.filter((v) => v.outcome === outcome);
    const durations = rows.map((v) => v.duration_ms).sort((a, b) => a - b);
    const last = new Date(Math.max(...rows.map((v) => v.at)) * 1000).toISOString().replace('T', ' ').slice(0, 19);
    return {
      outcome,
      n: String(rows.length),
      total: String(durations.reduce((a, b) => a + b, 0)),
      p50: String(durations[Math.floor(durations.length / 2)]),
      last,
    };
  });
  expect(expected[0]).toEqual({ outcome: 'completed', n: '750', total: '3757500', p50: '5020', last: '2026-01-01 00:16:39' });
  expect(await rs.json()).toEqual(expected);
}, 30_000);
