/**
 * SIGTERM under load: the API drains, answers every pending request, exits 0, and every event
 * it answered 202 is on the topic.
 */
import { expect, test } from 'bun:test';
import { readTopic, topicFactory } from '../../support/kafka.ts';
import { freePort } from '../../../scripts/lib/net.ts';
import { spawnBun, waitFor } from '../../support/process.ts';

const freshTopic = topicFactory();

test('SIGTERM under load loses no accepted event and exits 0', async () => {
  const topic = await freshTopic('shutdown', 3);
  const port = freePort();
  const proc = spawnBun('src/server.ts', {
    HTTP_PORT: String(port),
    KAFKA_TOPIC: topic,
    LOG_LEVEL: 'warn',
    SHUTDOWN_TIMEOUT_MS: '5000',
  });
  const base = `http://127.0.0.1:${port}`;
  const completedAt = new Date(Date.now() - 60_000).toISOString();
  await waitFor('the API to be ready', async () => (await fetch(`${base}/readyz`)).status === 200);

  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  let signalled = false;
  let afterSignal = 0;
  const loadDeadline = Date.now() + 15_000;
  const worker = async (w: number) => {
    for (let i = 0; Date.now() < loadDeadline; i++) {
      if (signalled && afterSignal > 400) return; // keep hitting it a little after the signal
      try {
        const res = await fetch(`${base}/sessions/s-${w}-${i}/complete`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `k-${w}-${i}` },
          body: JSON.stringify({ userId: `u-${w}`, startedAt: completedAt, completedAt }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const out = (await res.json()) as { eventId?: string };
        if (res.status === 202 && out.eventId) accepted.push(out.eventId);
      } catch {
        // The listener closed: a real client retries on another instance.
        if (signalled) return;
      }
      if (signalled) afterSignal += 1;
    }
  };
  const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  await waitFor('some accepted events', () => accepted.length >= 200, 10_000);
  signalled = true;
  proc.kill('SIGTERM');
  await load;
  const code = await proc.exited;

  expect(code).toBe(0);
  // Only 202 (accepted) and 503 (draining) are legitimate answers here.
  expect([...statuses.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
  const on = await readTopic(topic, (ms) => ms.length >= accepted.length);
  const found = new Set(on.map((m) => m.headers['event-id']));
  expect(accepted.filter((id) => !found.has(id))).toEqual([]);
  expect(accepted.length).toBeGreaterThanOrEqual(200);
});
