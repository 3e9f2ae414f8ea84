/**
 * The COPY writer against a real Postgres: exact rows and stats after new events, duplicates,
 * re-completions (newer, older, same instant), a session moving between users, and a replay that
 * is a true no-op (no row rewritten).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { projectBatch } from '../../../consumers/postgres/projection.ts';
import { createPgSessionStore, type SessionStore } from '../../../consumers/postgres/store.ts';
import { createPostgresSink } from '../../../consumers/postgres/sink.ts';
import { rehearsalEvents } from '../../../consumers/runtime/rehearsal.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import type { SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { makeEvent } from '../../support/events.ts';
import { createPgPool } from '../../../src/kernel/postgres/pool.ts';
import {
  aggregateFromSessions,
  config,
  createScratchDb,
  readSnapshot,
  referenceModel,
  roundStats,
  type ScratchDb,
} from './pg-helpers.ts';

let db: ScratchDb;
let store: SessionStore;
beforeAll(async () => {
  db = await createScratchDb('t_store');
  store = createPgSessionStore(db.pool);
});
afterAll(async () => {
  await db?.cleanup();
});

const applied: SessionCompleted[][] = [];
async function apply(batch: SessionCompleted[]) {
  applied.push(batch);
  return store.apply(projectBatch(batch));
}

async function expectExact() {
  const model = referenceModel(applied);
  const actual = await readSnapshot(db.pool);
  expect(Object.fromEntries(actual.sessions)).toEqual(Object.fromEntries(model.sessions));
  expect(roundStats(actual.stats)).toEqual(roundStats(model.stats));
  // and user_stats equals, to the bit, the aggregate computed now from sessions
  expect(actual.stats).toEqual(await aggregateFromSessions(db.pool));
}

describe('Postgres session store', () => {
  const t0 = Date.parse('2026-03-01T10:00:00.000Z');
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();

  test('new sessions, in-batch duplicates and re-completions end exact', async () => {
    const a1 = makeEvent({ sessionId: 'a1', userId: 'alice', completedAt: at(1), score: 10, outcome: 'completed' });
    const a2 = makeEvent({ sessionId: 'a2', userId: 'alice', completedAt: at(2), score: 30, outcome: 'failed' });
    const b1 = makeEvent({ sessionId: 'b1', userId: 'bob', completedAt: at(3), score: null, outcome: 'abandoned' });
    const a2again = makeEvent({ sessionId: 'a2', userId: 'alice', completedAt: at(4), score: 20, outcome: 'completed' });
    // a2 twice in one batch (and a1 redelivered within it): the later completion wins
    const r = await apply([a1, a2, b1, a1, a2again]);
    expect(r).toEqual({ rows: 3, sessionsWritten: 3, usersAffected: 2, usersIncremented: 2, usersRecomputed: 0 });
    await expectExact();
    const alice = (await readSnapshot(db.pool)).stats.get('alice');
    expect(alice?.sessionsCompleted).toBe(2);
    expect(alice?.bestScore).toBe(20);
    expect(alice?.outcomes).toEqual({ completed: 2, failed: 0, abandoned: 0 });
  });

  test('a re-completion that lowers the best score replaces its old contribution', async () => {
    const a1 = makeEvent({ sessionId: 'a1', userId: 'alice', completedAt: at(5), score: 5, outcome: 'failed' });
    const r = await apply([a1]);
    expect(r).toMatchObject({ sessionsWritten: 1, usersRecomputed: 1, usersIncremented: 0 });
    await expectExact();
    const alice = (await readSnapshot(db.pool)).stats.get('alice');
    expect(alice?.sessionsCompleted).toBe(2);
    expect(alice?.bestScore).toBe(20);
    expect(alice?.avgScore).toBe(12.5);
    expect(alice?.outcomes).toEqual({ completed: 1, failed: 1, abandoned: 0 });
    expect(alice?.lastCompletedAt).toBe(at(5));
  });

  test('an older completion is ignored; at the same instant the greater event id wins', async () => {
    const older = makeEvent({ sessionId: 'b1', userId: 'bob', completedAt: at(0), score: 99 });
    expect((await apply([older])).sessionsWritten).toBe(0);
    const tieLow = makeEvent({ sessionId: 'c1', userId: 'carol', completedAt: at(6), score: 1, id: '00000000-0000-4000-8000-000000000001' });
    const tieHigh = makeEvent({ sessionId: 'c1', userId: 'carol', completedAt: at(6), score: 2, id: 'ffffffff-0000-4000-8000-000000000001' });
    await apply([tieHigh]);
    expect((await apply([tieLow])).sessionsWritten).toBe(0);
    await expectExact();
    expect((await readSnapshot(db.pool)).sessions.get('c1')?.score).toBe(2);
  });

  test('a session that moves to another user leaves the old user exact (or without stats)', async () => {
    const moved = makeEvent({ sessionId: 'b1', userId: 'dave', completedAt: at(7), score: 7 });
    const r = await apply([moved]);
    expect(r).toEqual({ rows: 1, sessionsWritten: 1, usersAffected: 2, usersIncremented: 0, usersRecomputed: 2 });
    await expectExact();
    const snap = await readSnapshot(db.pool);
    expect(snap.stats.has('bob')).toBe(false);
    expect(snap.stats.get('dave')?.sessionsCompleted).toBe(1);
  });

  test('redelivering every batch so far is a true no-op: nothing written, no row rewritten', async () => {
    const before = await db.pool.query(
      `SELECT 's' AS t, session_id AS k, xmin::text, projected_at FROM sessions
       UNION ALL SELECT 'u', user_id, xmin::text, updated_at FROM user_stats ORDER BY 1, 2`,
    );
    for (const batch of [...applied]) {
      expect((await store.apply(projectBatch(batch))).sessionsWritten).toBe(0);
    }
    // the whole history again as one batch, too
    expect(await store.apply(projectBatch(applied.flat()))).toMatchObject({ sessionsWritten: 0, usersAffected: 0 });
    const after = await db.pool.query(
      `SELECT 's' AS t, session_id AS k, xmin::text, projected_at FROM sessions
       UNION ALL SELECT 'u', user_id, xmin::text, updated_at FROM user_stats ORDER BY 1, 2`,
    );
    expect(after.rows).toEqual(before.rows);
    await expectExact();
  });

  test('attributes with quotes, commas, newlines and unicode survive COPY', async () => {
    const attributes = { note: 'a "quoted", comma\nnew line\\backslash', emoji: 'ü → 😀', n: 1.5, ok: true, empty: '' };
    const e = makeEvent({ sessionId: 'e1', userId: 'erin', completedAt: at(8), attributes });
    await apply([e]);
    await expectExact();
    expect((await readSnapshot(db.pool)).sessions.get('e1')?.attributes).toEqual(attributes);
  });

  test('a larger random mix over several batches ends exact', async () => {
    let state = 1;
    const rnd = () => ((state = (state * 48271) % 2147483647) / 2147483647);
    const history: SessionCompleted[] = applied.flat();
    for (let b = 0; b < 5; b++) {
      const batch: SessionCompleted[] = [];
      for (let i = 0; i < 2_000; i++) {
        const roll = rnd();
        if (roll < 0.1 && history.length > 0) {
          batch.push(history[Math.floor(rnd() * history.length)]!); // duplicate delivery
        } else {
          const e = makeEvent({
            sessionId: `m${Math.floor(rnd() * 3_000)}`,
            userId: `mu${Math.floor(rnd() * 200)}`,
            completedAt: at(10 + Math.floor(rnd() * 500)),
            score: rnd() < 0.2 ? null : Math.round(rnd() * 1000) / 10,
            outcome: (['completed', 'failed', 'abandoned'] as const)[Math.floor(rnd() * 3)]!,
          });
          batch.push(e);
          history.push(e);
        }
      }
      await apply(batch);
    }
    await expectExact();
  });
});

test('warm() prepares a pooled connection (its temp tables) before the first batch, and says when Postgres is down', async () => {
  const one = await createScratchDb('t_warm', 1); // one connection: every query below gets the same one
  try {
    const staging = async () => (await one.pool.query<{ ok: boolean }>("SELECT to_regclass('pg_temp.session_staging') IS NOT NULL AS ok")).rows[0]?.ok;
    expect(await staging()).toBe(false);
    const warmed = createPgSessionStore(one.pool);
    await warmed.warm();
    expect(await staging()).toBe(true);
    await warmed.warm(); // once per connection: a second call creates nothing and does not fail
    const result = await warmed.apply(projectBatch([makeEvent({ sessionId: 'warm-1', userId: 'warm-user', completedAt: Date.now() - 1_000, clientLagMs: 1_000 })]));
    expect(result.sessionsWritten).toBe(1);
  } finally {
    await one.cleanup();
  }
  const unreachable = createPgPool({ ...config, DATABASE_URL: 'postgres://nobody:none@127.0.0.1:1/none' }, { max: 1, applicationName: 'test-warm-down' });
  try {
    await expect(createPgSessionStore(unreachable).warm()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  } finally {
    await unreachable.end();
  }
});

test('a rehearsal runs the whole batch transaction (keys, COPY, upsert, stats) and keeps nothing', async () => {
  const one = await createScratchDb('t_rehearse', 1); // one connection: the rehearsal and the checks share it
  try {
    const sink = createPostgresSink(createPgSessionStore(one.pool), silentLogger());
    const real = makeEvent({ sessionId: 'kept-1', userId: 'kept-user', completedAt: Date.now() - 1_000, clientLagMs: 1_000 });
    await sink.write([real]);
    const count = async (sql: string) => Number((await one.pool.query<{ n: string }>(sql)).rows[0]?.n);
    const before = await readSnapshot(one.pool);
    const keysBefore = await count('SELECT count(*) AS n FROM idempotency_keys');

    // The made-up batch reaches every statement: its counts say what it would have written.
    const events = rehearsalEvents(300, Date.now());
    const store = createPgSessionStore(one.pool);
    const would = await store.apply(
      { keys: [], rows: () => projectBatch(events) },
      { rehearsal: true },
    );
    expect(would.sessionsWritten).toBe(300);
    expect(would.usersAffected).toBeGreaterThan(0);
    await sink.rehearse?.(events);

    expect(await readSnapshot(one.pool)).toEqual(before);
    expect(await count('SELECT count(*) AS n FROM idempotency_keys')).toBe(keysBefore);
    expect(await count("SELECT count(*) AS n FROM sessions WHERE user_id LIKE 'rehearsal.%'")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM user_stats WHERE user_id LIKE 'rehearsal.%'")).toBe(0);

    // The connection is left usable, and the next real batch is written as usual.
    await sink.write([makeEvent({ sessionId: 'kept-2', userId: 'kept-user', completedAt: Date.now() - 500, clientLagMs: 500 })]);
    expect(await count("SELECT count(*) AS n FROM sessions WHERE user_id = 'kept-user'")).toBe(2);
  } finally {
    await one.cleanup();
  }
});
