/** The native stack's Postgres is real, from Bun: COPY and read back, with its logging settings. */
import { expect, test } from 'bun:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../../../src/kernel/config.ts';
import { registerCleanups } from '../../support/cleanups.ts';

const config = loadConfig(process.env);
const cleanups = registerCleanups('file');

test('COPY into a temp table and read the rows back; pg_stat_statements and the slow log are on', async () => {
  const client = new pg.Client({ connectionString: config.DATABASE_URL });
  await client.connect();
  cleanups.push(() => client.end());
  await client.query('CREATE TEMP TABLE stack_copy (id int PRIMARY KEY, name text NOT NULL, score double precision)');
  const rows = Array.from({ length: 1000 }, (_, i) => `${i + 1}\tname-${i + 1}\t${i % 7 === 0 ? '\\N' : (i + 1) / 4}\n`);
  await pipeline(Readable.from(rows), client.query(copyFrom('COPY stack_copy (id, name, score) FROM STDIN')));

  const agg = await client.query<{ n: string; ids: string; nulls: string; score: number }>(
    'SELECT count(*) AS n, sum(id) AS ids, count(*) FILTER (WHERE score IS NULL) AS nulls, sum(score) AS score FROM stack_copy',
  );
  expect(agg.rows[0]).toEqual({ n: '1000', ids: '500500', nulls: '143', score: expect.any(Number) });
  const one = await client.query<{ name: string; score: number }>('SELECT name, score FROM stack_copy WHERE id = 42');
  expect(one.rows).toEqual([{ name: 'name-42', score: 10.5 }]);

  const settings = await client.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('log_min_duration_statement', 'listen_addresses') ORDER BY name`,
  );
  expect(settings.rows).toEqual([
    { name: 'listen_addresses', setting: '127.0.0.1' },
    { name: 'log_min_duration_statement', setting: String(config.PG_LOG_MIN_DURATION_MS) },
  ]);
  // The view errors unless the library is preloaded; it has already counted the query above.
  const statements = await client.query<{ calls: number }>(
    `SELECT sum(calls)::int AS calls FROM pg_stat_statements WHERE query = 'SELECT name, score FROM stack_copy WHERE id = $1'`,
  );
  expect(statements.rows[0]?.calls).toBeGreaterThanOrEqual(1);
}, 30_000);
