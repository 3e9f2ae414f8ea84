/**
 * Prints the query plans (EXPLAIN ANALYZE) of every query the Postgres read model runs: the read
 * routes' queries and the consumer's per-batch upsert and stats recompute. Flags any sequential
 * scan of `sessions`; exits 1 if there is one.
 *
 *   bun scripts/explain.ts                      fresh scratch schema with 100,000 sessions, dropped after
 *   bun scripts/explain.ts --sessions 500000    a bigger one
 *   bun scripts/explain.ts --schema public      the live read model (read queries only; read-only)
 *   bun scripts/explain.ts --json               JSON plans instead of text
 *
 * test/int/postgres/explain.int.test.ts runs the same cases and fails on a Seq Scan of sessions.
 */
import { parseArgs } from 'node:util';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { seedReadModel, syntheticRows } from './lib/pg-seed.ts';
import { csvChunks } from '../consumers/postgres/copy-csv.ts';
import { createPgPool } from '../src/kernel/postgres/pool.ts';
import { createReadModelSchema, dropSchema, scratchSchemaName } from '../consumers/postgres/schema.ts';
import {
  COPY_STAGING,
  CREATE_TEMP_TABLES,
  RECOMPUTE_USER_STATS,
  UPSERT_SESSIONS,
} from '../consumers/postgres/store-sql.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { READ_QUERIES } from '../src/reads/queries.ts';

export interface PlanCase {
  readonly name: string;
  readonly sql: string;
  readonly values: readonly unknown[];
}

export interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
  readonly [key: string]: unknown;
}

/** Every scan node of `relation` whose type is Seq Scan (including parallel ones), anywhere in the tree. */
export function seqScansOf(plan: PlanNode, relation: string): PlanNode[] {
  const found: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === relation) found.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return found;
}

/** Realistic arguments for the read queries, taken from the data: the busiest user, a mid-list cursor. */
export async function readCases(client: pg.ClientBase): Promise<PlanCase[]> {
  const busiest = await client.query<{ user_id: string }>(
    'SELECT user_id FROM user_stats ORDER BY sessions_completed DESC, user_id LIMIT 1',
  );
  const userId = busiest.rows[0]?.user_id ?? 'nobody';
  const mid = await client.query<{ completed_at: Date; session_id: string }>(
    `SELECT completed_at, session_id FROM sessions WHERE user_id = $1
     ORDER BY completed_at DESC, session_id DESC OFFSET 50 LIMIT 1`,
    [userId],
  );
  const anySession = await client.query<{ session_id: string }>('SELECT session_id FROM sessions LIMIT 1');
  const cursor = mid.rows[0] ?? { completed_at: new Date(), session_id: 'none' };
  const q = READ_QUERIES;
  return [
    { name: 'GET /sessions/:sessionId', sql: q.sessionById.text, values: [anySession.rows[0]?.session_id ?? 'none'] },
    { name: 'GET /users/:userId/stats', sql: q.userStats.text, values: [userId] },
    { name: 'GET /users/:userId/sessions (first page)', sql: q.userSessionsFirstPage.text, values: [userId, 21] },
    {
      name: 'GET /users/:userId/sessions?before= (next page)',
      sql: q.userSessionsBefore.text,
      values: [userId, cursor.completed_at.toISOString(), cursor.session_id, 21],
    },
    { name: 'GET /users/:userId/sessions (unknown user)', sql: q.userSessionsFirstPage.text, values: ['nobody', 21] },
  ];
}

export type Explained = { readonly case: PlanCase; readonly plan: PlanNode; readonly text?: string };

async function explainText(client: pg.ClientBase, c: PlanCase): Promise<string> {
  const t = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ${c.sql}`, [...c.values]);
  return t.rows.map((r) => r['QUERY PLAN']).join('\n');
}

async function explainJson(client: pg.ClientBase, c: PlanCase): Promise<PlanNode> {
  const json = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${c.sql}`, [...c.values]);
  return (json.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0]!.Plan;
}

/** EXPLAIN ANALYZE in JSON (for the check) and, when asked, in text (for a human). */
async function explain(client: pg.ClientBase, c: PlanCase, withText: boolean): Promise<Explained> {
  const text = withText ? await explainText(client, c) : undefined;
  const plan = await explainJson(client, c);
  return text === undefined ? { case: c, plan } : { case: c, plan, text };
}

export async function explainReads(client: pg.ClientBase, withText = false): Promise<Explained[]> {
  const out: Explained[] = [];
  for (const c of await readCases(client)) out.push(await explain(client, c, withText));
  return out;
}

/**
 * The consumer's batch statements on a realistic batch (`batchSize` rows: half re-completions of
 * existing sessions, half new), inside a transaction that is rolled back: nothing changes.
 */
export async function explainWrites(client: pg.ClientBase, batchSize: number, withText = false): Promise<Explained[]> {
  const existing = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions');
  const total = existing.rows[0]?.n ?? 0;
  const rows = [...syntheticRows({ sessions: batchSize, users: Math.max(1, Math.floor(batchSize / 5)), seed: 7 })].map((r, i) => ({
    ...r,
    sessionId: i % 2 === 0 && total > 0 ? `sess-${(i * 7919) % total}` : `explain-new-${i}`,
    completedAt: '2026-12-31T00:00:00.000Z',
  }));
  await client.query(CREATE_TEMP_TABLES);
  await client.query('BEGIN');
  try {
    await pipeline(Readable.from(csvChunks(rows)), client.query(copyFrom(COPY_STAGING)));
    const cases: PlanCase[] = [
      { name: `consumer batch upsert + stats deltas (${batchSize} rows, half of them re-completions)`, sql: UPSERT_SESSIONS, values: [] },
      { name: 'consumer user_stats recompute (users with a replaced session)', sql: RECOMPUTE_USER_STATS, values: [] },
    ];
    const out: Explained[] = [];
    for (const c of cases) {
      // EXPLAIN ANALYZE executes the statement. The text plan runs under a savepoint that is
      // rolled back, so the JSON run (whose effects stay, for the next statement) sees the same state.
      let text: string | undefined;
      if (withText) {
        await client.query('SAVEPOINT explain_text');
        text = await explainText(client, c);
        await client.query('ROLLBACK TO SAVEPOINT explain_text');
      }
      const json = await explain(client, c, false);
      out.push(text === undefined ? json : { ...json, text });
    }
    return out;
  } finally {
    await client.query('ROLLBACK');
  }
}

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      schema: { type: 'string' },
      sessions: { type: 'string', default: '100000' },
      'batch-size': { type: 'string', default: '5000' },
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig(process.env);
  const sessions = Number(args.sessions);
  const batchSize = Number(args['batch-size']);
  const scratch = args.schema === undefined ? scratchSchemaName('explain') : undefined;
  const schema = args.schema ?? scratch!;
  const admin = createPgPool(config, { max: 1, applicationName: 'explain' });
  const pool = createPgPool(config, { max: 1, searchPath: schema, applicationName: 'explain' });
  const client = await pool.connect();
  let seqScans = 0;
  try {
    if (scratch) {
      const a = await admin.connect();
      try {
        await createReadModelSchema(a, scratch);
      } finally {
        a.release();
      }
      const seeded = await seedReadModel(client, { sessions, users: Math.max(1, Math.floor(sessions / 50)), heavyUserSessions: 2_000 });
      console.log(`# scratch schema ${scratch}: ${seeded.sessions} sessions loaded in ${(seeded.ms / 1000).toFixed(1)} s (COPY + ANALYZE)\n`);
    } else {
      console.log(`# schema ${schema} (read queries only: nothing is written)\n`);
    }
    const results = [...(await explainReads(client, !args.json)), ...(scratch ? await explainWrites(client, batchSize, !args.json) : [])];
    for (const r of results) {
      const bad = seqScansOf(r.plan, 'sessions');
      seqScans += bad.length;
      console.log(`## ${r.case.name}`);
      console.log(`-- ${r.case.sql.replace(/\s+/g, ' ').trim().slice(0, 400)}`);
      console.log(`-- values: ${JSON.stringify(r.case.values)}`);
      console.log(args.json ? JSON.stringify(r.plan, null, 2) : r.text);
      console.log(bad.length === 0 ? '=> ok: no sequential scan of sessions\n' : `=> SEQ SCAN of sessions (${bad.length})\n`);
    }
  } finally {
    client.release();
    await pool.end();
    if (scratch) {
      const a = await admin.connect();
      try {
        await dropSchema(a, scratch);
      } finally {
        a.release();
      }
    }
    await admin.end();
  }
  console.log(seqScans === 0 ? 'no sequential scan of sessions in any plan' : `${seqScans} sequential scan(s) of sessions`);
  return seqScans === 0 ? 0 : 1;
}

if (import.meta.main) process.exit(await main());
