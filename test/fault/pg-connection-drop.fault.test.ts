/**
 * The Postgres consumer's store when its connection is cut in the middle of a batch transaction
 * (what a Postgres restart does to it): the batch fails with a retriable error, the process does
 * not crash on the client's late 'error' event, and the retry writes the batch exactly once.
 * Against a private Postgres (its own temp folder and port): the only connection cut is ours.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPgPool } from '../../src/kernel/postgres/pool.ts';
import { projectBatch } from '../../consumers/postgres/projection.ts';
import { createReadModelSchema } from '../../consumers/postgres/schema.ts';
import { createPgSessionStore } from '../../consumers/postgres/store.ts';
import type { SessionCompleted } from '../../src/kernel/events/session-completed.ts';
import { loadStackConfig } from '../../stack/index.ts';
import { silentStackLog } from '../../stack/log.ts';
import { postgresService } from '../../stack/postgres.ts';
import { startService, stopService } from '../../stack/service.ts';
import { freePort } from '../../scripts/lib/net.ts';
import { makeEvent } from '../support/events.ts';

const dir = mkdtempSync(join(tmpdir(), 'pg-drop-'));
const config = loadStackConfig({ STACK_DIR: dir, PG_PORT: String(freePort()) }, silentStackLog);
const service = postgresService(config);
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await stopService(service, silentStackLog, 30_000).catch(() => undefined);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
});

beforeAll(async () => {
  await startService(service, silentStackLog, 90_000);
  const c = new pg.Client({ connectionString: config.DATABASE_URL });
  await c.connect();
  await createReadModelSchema(c, 'rm');
  await c.end();
  process.on('uncaughtException', onUncaught);
}, 120_000);

function events(n: number): SessionCompleted[] {
  const t = Date.parse('2026-06-01T00:00:00Z');
  return Array.from({ length: n }, (_, i) => makeEvent({ sessionId: `drop-${i}`, userId: `u${i % 50}`, completedAt: t + i, clientLagMs: 5, score: i % 10 }));
}

test('connection cut mid-batch: retriable error, no uncaught exception, the retry writes the batch once', async () => {
  const pool = createPgPool(config, { max: 2, searchPath: 'rm', applicationName: 'consumer-under-test' });
  pool.on('error', () => {});
  const store = createPgSessionStore(pool);
  const killer = new pg.Client({ connectionString: config.DATABASE_URL });
  await killer.connect();
  try {
    const rows = projectBatch(events(60_000));
    // Cut the connection as soon as the batch transaction is open.
    const cutter = (async () => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const r = await killer.query(
          `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
           WHERE application_name = 'consumer-under-test' AND xact_start IS NOT NULL AND query NOT ILIKE 'SELECT 1%'`,
        );
        if (r.rows.some((x: { cut: boolean }) => x.cut)) return true;
        await Bun.sleep(1);
      }
      return false;
    })();
    const first = await store.apply(rows).then(
      () => 'written',
      (e: unknown) => (e as { code?: string }).code ?? String(e),
    );
    expect(await cutter).toBe(true);
    expect(first).toBe('STORE_UNAVAILABLE');
    await Bun.sleep(500); // the client's 'error' event comes after the failed query
    expect(uncaught).toEqual([]);

    const second = await store.apply(rows);
    expect(second.rows).toBe(60_000);
    const count = await pool.query<{ n: string }>('SELECT count(*) AS n FROM sessions');
    expect(Number(count.rows[0]?.n)).toBe(60_000);
    const stats = await pool.query<{ n: string }>('SELECT sum(sessions_completed) AS n FROM user_stats');
    expect(Number(stats.rows[0]?.n)).toBe(60_000);
  } finally {
    await killer.end();
    await pool.end();
  }
}, 120_000);
