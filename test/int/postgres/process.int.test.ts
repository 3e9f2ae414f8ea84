/**
 * The real process, `bun consumers/postgres/main.ts`: SIGKILLed in the middle of a stream and
 * restarted, it ends exact; it serves /healthz /readyz /metrics; SIGTERM drains and exits 0.
 */
import { describe, expect, test } from 'bun:test';
import { registerCleanups } from '../../support/cleanups.ts';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { createTestTopic, waitGroupCaughtUp, type TestTopic } from '../../support/kafka.ts';
import { makeEvent } from '../../support/events.ts';
import { waitFor } from '../../support/process.ts';
import {
  aggregateFromSessions,
  config,
  createScratchDb,
  readSnapshot,
  referenceModel,
  roundStats,
  type ScratchDb,
} from './pg-helpers.ts';

const ROOT = join(import.meta.dir, '../../..');
const cleanups = registerCleanups();

function spawnConsumer(t: TestTopic, db: ScratchDb, port: number): Subprocess {
  const url = new URL(config.DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${db.schema}`);
  const child = Bun.spawn([process.execPath, 'consumers/postgres/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_TOPIC: t.topic,
      KAFKA_DLQ_TOPIC: t.dlqTopic,
      PG_CONSUMER_GROUP: t.groupId,
      DATABASE_URL: url.toString(),
      PG_BATCH_MAX_EVENTS: '100',
      PG_BATCH_MAX_WAIT_MS: '20',
      PG_CONSUMER_METRICS_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // the restarted process waits this long for the killed member's partitions
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await child.exited;
  });
  return child;
}

const freePort = () => 20_000 + Math.floor(Math.random() * 30_000);
const get = (port: number, path: string) =>
  fetch(`http://127.0.0.1:${port}${path}`).then(
    async (r) => ({ status: r.status, text: await r.text() }),
    () => ({ status: 0, text: '' }),
  );

describe('consumers/postgres/main.ts as a process', () => {
  test('SIGKILL mid-stream, restart, SIGTERM: ends exact and exits 0', async () => {
    const t = await createTestTopic('pg-proc', 3);
    cleanups.push(() => t.cleanup());
    const db = await createScratchDb('t_pg_proc');
    cleanups.push(() => db.cleanup());

    const t0 = Date.parse('2026-05-01T00:00:00.000Z');
    const history = Array.from({ length: 20_000 }, (_, i) =>
      makeEvent({
        sessionId: `p-${i % 15_000}`, // 5,000 re-completions
        userId: `pu-${i % 15_000 % 400}`,
        completedAt: new Date(t0 + i * 1_000).toISOString(),
        score: i % 7 === 0 ? null : i % 1000,
        outcome: (['completed', 'failed', 'abandoned'] as const)[i % 3]!,
      }),
    );
    await t.send(history);
    const model = referenceModel([history]);

    const first = spawnConsumer(t, db, freePort());
    const count = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions')).rows[0]!.n;
    await waitFor('the first process to write some rows', async () => (await count()) > 0, 30_000, 10);
    first.kill('SIGKILL');
    await first.exited;
    const atKill = await count();
    expect(atKill).toBeLessThan(model.sessions.size); // it died mid-stream

    const port = freePort();
    const second = spawnConsumer(t, db, port);
    await waitFor('/readyz to answer 200', async () => (await get(port, '/readyz')).status === 200, 30_000);
    expect((await get(port, '/healthz')).status).toBe(200);
    await waitGroupCaughtUp(t, 60_000);
    const metrics = await get(port, '/metrics');
    expect(metrics.text).toContain('consumer_freshness_seconds_bucket');
    expect(metrics.text).toContain('consumer_lag_messages');
    expect(metrics.text).toContain('consumer_write_duration_seconds');

    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const actual = await readSnapshot(db.pool);
    expect(Object.fromEntries(actual.sessions)).toEqual(Object.fromEntries(model.sessions));
    expect(roundStats(actual.stats)).toEqual(roundStats(model.stats));
    expect(actual.stats).toEqual(await aggregateFromSessions(db.pool));
  }, 120_000);
});
