/**
 * Several consumer instances write one read model side by side (no writer lock between them:
 * consumers/postgres/store-sql.ts, LOCK_WRITER). Against a real Postgres:
 * - a batch does not wait for another batch in flight, but does wait for the rebuild's lock;
 * - the one interleaving the upsert cannot resolve (a session another batch inserted and committed
 *   while this one ran) fails the batch as retriable, and the retry leaves everything exact;
 * - writers running at once, with a partition handed over mid-way (the same batch written twice at
 *   once), re-completions and sessions moving between users of different writers, end with
 *   `sessions` equal to the reference model and `user_stats` equal to the aggregate over it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import type pg from 'pg';
import { projectBatch } from '../../../consumers/postgres/projection.ts';
import { createPgSessionStore, type SessionStore } from '../../../consumers/postgres/store.ts';
import { USER_STATS_COLUMNS, USER_STATS_FROM_SESSIONS, WRITER_LOCK_NAMESPACE } from '../../../consumers/postgres/store-sql.ts';
import { AppError } from '../../../src/kernel/errors.ts';
import type { SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { createPgPool } from '../../../src/kernel/postgres/pool.ts';
import { makeEvent } from '../../support/events.ts';
import { aggregateFromSessions, config, createScratchDb, readSnapshot, referenceModel, roundStats, type ScratchDb } from './pg-helpers.ts';

let db: ScratchDb;
beforeAll(async () => {
  db = await createScratchDb('t_concurrent', 8);
});
afterAll(async () => {
  await db?.cleanup();
});

const t0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(t0 + seconds * 1_000).toISOString();

/** A connection of its own, in the scratch schema, for holding a transaction open. */
async function holder(): Promise<{ client: pg.PoolClient; done(): Promise<void> }> {
  const pool = createPgPool(config, { max: 1, searchPath: db.schema, applicationName: 'test-holder' });
  const client = await pool.connect();
  return {
    client,
    async done() {
      client.release();
      await pool.end();
    },
  };
}

const settles = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true, () => true), Bun.sleep(ms).then(() => false)]);

test('a batch runs while another batch holds the writer lock, and waits while the rebuild holds it', async () => {
  const store = createPgSessionStore(db.pool);
  const h = await holder();
  try {
    // Another batch in flight: the shared lock, as store.ts takes it.
    await h.client.query('BEGIN');
    await h.client.query('SELECT pg_advisory_xact_lock_shared($1, hashtext(current_schema()))', [WRITER_LOCK_NAMESPACE]);
    const alongside = store.apply(projectBatch([makeEvent({ sessionId: 'l1', userId: 'lu1', completedAt: at(1) })]));
    expect(await settles(alongside, 5_000)).toBe(true);
    expect((await alongside).sessionsWritten).toBe(1);
    await h.client.query('COMMIT');

    // The rebuild: the exclusive lock, while it swaps the tables.
    await h.client.query('BEGIN');
    await h.client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [WRITER_LOCK_NAMESPACE]);
    const blocked = store.apply(projectBatch([makeEvent({ sessionId: 'l2', userId: 'lu1', completedAt: at(2) })]));
    expect(await settles(blocked, 500)).toBe(false);
    await h.client.query('COMMIT');
    expect((await blocked).sessionsWritten).toBe(1);
  } finally {
    await h.client.query('ROLLBACK').catch(() => undefined);
    await h.done();
  }
  expect((await readSnapshot(db.pool)).stats).toEqual(await aggregateFromSessions(db.pool));
});

test('a session committed by another batch while this one ran fails the batch as retriable; the retry is exact', async () => {
  const store = createPgSessionStore(db.pool);
  const h = await holder();
  try {
    // Another writer inserts session r1 for user ru-old (with its stats) and has not committed.
    await h.client.query('BEGIN');
    await h.client.query(
      `INSERT INTO sessions (session_id, event_id, user_id, started_at, completed_at, duration_ms, score, outcome, attributes, received_at, projected_at)
       VALUES ('r1', gen_random_uuid(), 'ru-old', $1, $1, 1000, 5, 'completed', '{}', $1, now())`,
      [at(10)],
    );
    await h.client.query(
      `INSERT INTO user_stats (${USER_STATS_COLUMNS.join(', ')}) SELECT * FROM (${USER_STATS_FROM_SESSIONS}) agg WHERE agg.user_id = 'ru-old'`,
    );
    // This batch moves r1 to ru-new with a newer completion: its upsert waits at the unique index.
    const moved = makeEvent({ sessionId: 'r1', userId: 'ru-new', completedAt: at(20), score: 9 });
    const first = store.apply(projectBatch([moved]));
    expect(await settles(first, 500)).toBe(false);
    await h.client.query('COMMIT');
    const error = await first.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('STORE_UNAVAILABLE'); // retried by the run loop, never dead-lettered
    expect(JSON.stringify((error as Error).cause, Object.getOwnPropertyNames((error as Error).cause ?? {}))).toContain('40001');

    // The retry sees the committed row: ru-old loses the session, ru-new gains it.
    expect(await store.apply(projectBatch([moved]))).toMatchObject({ sessionsWritten: 1, usersRecomputed: 2 });
  } finally {
    await h.client.query('ROLLBACK').catch(() => undefined);
    await h.done();
  }
  const snap = await readSnapshot(db.pool);
  expect(snap.sessions.get('r1')?.userId).toBe('ru-new');
  expect(snap.stats.has('ru-old')).toBe(false);
  expect(snap.stats).toEqual(await aggregateFromSessions(db.pool));
});

test('writers at once (hand-overs, re-completions, moves between writers) end exact', async () => {
  const WRITERS = 4;
  const ROUNDS = 25;
  const stores: SessionStore[] = Array.from({ length: WRITERS }, () => createPgSessionStore(db.pool));
  let state = 7;
  const rnd = () => ((state = (state * 48271) % 2147483647) / 2147483647);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  // Users belong to writers as keys belong to partitions; each writer has its own sessions.
  const userOf = (w: number) => `cw${w}-u${Math.floor(rnd() * 12)}`;
  const sessionsOf: string[][] = Array.from({ length: WRITERS }, () => []);
  const applied: SessionCompleted[][] = [];
  let retries = 0;

  async function write(w: number, batch: SessionCompleted[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await (stores[w] as SessionStore).apply(projectBatch(batch));
        return;
      } catch (error) {
        // What the run loop does: a transient failure (deadlock, serialization) is retried.
        if (!(error instanceof AppError) || error.code !== 'STORE_UNAVAILABLE' || attempt >= 20) throw error;
        retries += 1;
        await Bun.sleep(5 + Math.floor(rnd() * 20));
      }
    }
  }

  for (let round = 0; round < ROUNDS; round++) {
    const batches: SessionCompleted[][] = [];
    for (let w = 0; w < WRITERS; w++) {
      const batch: SessionCompleted[] = [];
      for (let i = 0; i < 40; i++) {
        const roll = rnd();
        const own = sessionsOf[w] as string[];
        let sessionId: string;
        if (roll < 0.25 && own.length > 0) sessionId = pick(own); // a re-completion
        else if (roll < 0.3) sessionId = pick(sessionsOf[(w + 1) % WRITERS] as string[]) ?? `cw${w}-s${round}-${i}`; // moves here from another writer's user
        else sessionId = `cw${w}-s${round}-${i}`;
        if (!own.includes(sessionId)) own.push(sessionId);
        batch.push(
          makeEvent({
            sessionId,
            userId: userOf(w),
            completedAt: at(100 + round * 10 + Math.floor(rnd() * 30)),
            score: rnd() < 0.2 ? null : Math.round(rnd() * 1000) / 10,
            outcome: pick(['completed', 'failed', 'abandoned'] as const),
          }),
        );
      }
      batches.push(batch);
    }
    applied.push(...batches);
    // All writers at once; every third round a partition is handed over: writer 0's batch is
    // written by its old owner and by writer 1 at the same time.
    const jobs = batches.map((b, w) => write(w, b));
    if (round % 3 === 0) jobs.push(write(1, batches[0] as SessionCompleted[]));
    await Promise.all(jobs);
  }

  const model = referenceModel(applied);
  const actual = await readSnapshot(db.pool);
  const only = <V,>(m: Map<string, V>) => new Map([...m].filter(([k]) => k.startsWith('cw')));
  expect(Object.fromEntries(only(actual.sessions))).toEqual(Object.fromEntries(model.sessions));
  expect(roundStats(only(actual.stats))).toEqual(roundStats(model.stats));
  expect(actual.stats).toEqual(await aggregateFromSessions(db.pool));
  console.log(`concurrent writers: ${applied.length} batches, ${retries} retried (deadlock or serialization)`);
}, 120_000);
