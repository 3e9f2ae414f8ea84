/**
 * Scale-out on one machine: API_WORKERS=N runs N processes on one port (SO_REUSEPORT), each
 * with its own producer; SIGTERM to the supervisor drains them all and exits 0.
 */
import { expect, test } from 'bun:test';
import { readTopic, topicFactory } from '../../support/kafka.ts';
import { freePort } from '../../../scripts/lib/net.ts';
import { spawnBun, waitFor } from '../../support/process.ts';

const freshTopic = topicFactory();

test('API_WORKERS=2 serves from two processes on one port and both write to Kafka', async () => {
  const topic = await freshTopic('workers', 2);
  const port = freePort();
  const proc = spawnBun('src/server.ts', { HTTP_PORT: String(port), API_WORKERS: '2', KAFKA_TOPIC: topic, LOG_LEVEL: 'warn' });
  const base = `http://127.0.0.1:${port}`;
  const pids = new Set<number>();
  // New connections are spread by the kernel; ask until both workers have answered.
  await waitFor(
    'both workers to answer',
    async () => {
      const res = await fetch(`${base}/healthz`, { headers: { connection: 'close' } });
      pids.add(((await res.json()) as { pid: number }).pid);
      return pids.size === 2;
    },
    30_000,
  );
  expect(pids.has(proc.pid)).toBe(false); // the supervisor serves nothing itself

  const at = new Date(Date.now() - 60_000).toISOString();
  const ids: string[] = [];
  const acceptedBy = new Map<string, number>();
  // Write on fresh connections until each worker's own metrics show events it accepted.
  await waitFor(
    'writes accepted by both workers',
    async () => {
      const res = await fetch(`${base}/sessions/w-${ids.length}/complete`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ userId: 'u', startedAt: at, completedAt: at }),
      });
      if (res.status === 202) ids.push(((await res.json()) as { eventId: string }).eventId);
      const metrics = await (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
      const m = /^events_accepted_total\{[^}]*worker="(\d+)"[^}]*\} (\d+)/m.exec(metrics);
      if (m?.[1] !== undefined) acceptedBy.set(m[1], Number(m[2]));
      return acceptedBy.size === 2 && [...acceptedBy.values()].every((n) => n > 0);
    },
    60_000,
  );
  const on = await readTopic(topic, (ms) => ids.every((id) => ms.some((m) => m.headers['event-id'] === id)));
  expect(ids.filter((id) => !on.some((m) => m.headers['event-id'] === id))).toEqual([]);

  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(); // workers are gone too
}, 120_000);
