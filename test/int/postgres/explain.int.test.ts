/**
 * Slow-query hygiene: with 100,000 sessions loaded and analysed, no query the read model runs
 * (the read routes' queries, and the consumer's batch upsert and stats recompute) may scan
 * `sessions` sequentially. `bun scripts/explain.ts` prints the same plans for a human.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type pg from 'pg';
import { seedReadModel } from '../../../scripts/lib/pg-seed.ts';
import { explainReads, explainWrites, seqScansOf } from '../../../scripts/explain.ts';
import { createScratchDb, type ScratchDb } from './pg-helpers.ts';

const SESSIONS = 100_000;
let db: ScratchDb;
let client: pg.PoolClient;

beforeAll(async () => {
  db = await createScratchDb('t_explain', 1);
  client = await db.pool.connect();
  const seeded = await seedReadModel(client, { sessions: SESSIONS, users: SESSIONS / 50, heavyUserSessions: 2_000 });
  expect(seeded.sessions).toBe(SESSIONS);
}, 120_000);
afterAll(async () => {
  client?.release();
  await db?.cleanup();
});

describe('EXPLAIN (ANALYZE, FORMAT JSON) of every read-model query', () => {
  test('the table really holds the data the plans are judged on', async () => {
    const n = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions');
    expect(n.rows[0]?.n).toBe(SESSIONS);
  });

  test('read routes: no sequential scan of sessions; each uses an index', async () => {
    const results = await explainReads(client);
    expect(results.length).toBe(5);
    for (const r of results) {
      expect({ query: r.case.name, seqScans: seqScansOf(r.plan, 'sessions').length }).toEqual({ query: r.case.name, seqScans: 0 });
      expect(JSON.stringify(r.plan)).toMatch(/Index (Only )?Scan/);
    }
  });

  test('consumer batch statements: no sequential scan of sessions', async () => {
    const results = await explainWrites(client, 5_000);
    expect(results.length).toBe(2);
    for (const r of results) {
      expect({ query: r.case.name, seqScans: seqScansOf(r.plan, 'sessions').length }).toEqual({ query: r.case.name, seqScans: 0 });
    }
  });

  test('the check itself finds a sequential scan when there is one', async () => {
    const plan = await client.query(`EXPLAIN (FORMAT JSON) SELECT count(*) FROM sessions WHERE score > 1`);
    const root = (plan.rows[0]['QUERY PLAN'] as Array<{ Plan: Parameters<typeof seqScansOf>[0] }>)[0]!.Plan;
    expect(seqScansOf(root, 'sessions').length).toBeGreaterThan(0);
  });
});
