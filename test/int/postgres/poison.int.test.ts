/**
 * A poisoned event after the schema, on the real Postgres: a test-only CHECK constraint in the
 * test's own schema refuses one event of 3,000 (SQLSTATE 23514). The consumer isolates it, dead-
 * letters it alone with Postgres's message, writes the other 2,999 once and commits to the end;
 * after the constraint is dropped, `npm run dlq -- redrive` brings it back
 * (test/int/runtime/poison-support.ts).
 */
import { expect, test } from 'bun:test';
import { createPostgresSink } from '../../../consumers/postgres/sink.ts';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { expectPoisonIsolated } from '../runtime/poison-support.ts';
import { makeEvent } from '../../support/events.ts';
import { aggregateFromSessions, createScratchDb, readSnapshot } from './pg-helpers.ts';

const cleanups = registerCleanups();

test('one event Postgres refuses for good is dead-lettered alone; the other 2,999 land once; redrive brings it back', async () => {
  const db = await createScratchDb('t_poison');
  cleanups.push(() => db.cleanup());
  const t0 = Date.parse('2026-06-01T00:00:00.000Z');
  const events = Array.from({ length: 3_000 }, (_, i) =>
    makeEvent({ sessionId: `poison-test-${i}`, userId: `u-${i % 97}`, completedAt: t0 + i * 1_000, score: i % 100 }),
  );
  const poison = events[1_717]!;
  // Test-only: in this test's schema, refuse exactly the poison event.
  await db.pool.query(`ALTER TABLE sessions ADD CONSTRAINT test_poison CHECK (event_id <> '${poison.id}'::uuid)`);

  await expectPoisonIsolated({
    name: 'pg-poison',
    sink: createPostgresSink(createPgSessionStore(db.pool), silentLogger()),
    events,
    poison,
    storeCode: '23514',
    reason: /^Postgres refused the write \(23514\): .*test_poison/,
    async landed() {
      const { rows } = await db.pool.query<{ event_id: string; n: number }>('SELECT event_id::text AS event_id, count(*)::int AS n FROM sessions GROUP BY event_id');
      return new Map(rows.map((r) => [r.event_id, r.n]));
    },
    liftRefusal: async () => void (await db.pool.query('ALTER TABLE sessions DROP CONSTRAINT test_poison')),
    cleanups,
  });
  // The stats are exactly the aggregate of the sessions, the redriven one included.
  const snapshot = await readSnapshot(db.pool);
  expect(snapshot.sessions.size).toBe(3_000);
  expect(snapshot.stats).toEqual(await aggregateFromSessions(db.pool));
}, 180_000);
