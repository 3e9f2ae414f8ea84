import { afterAll, describe, expect, test } from 'bun:test';
import { runLoadgen } from '../../../bench/lib/loadgen.ts';

// An in-process server: /fast answers at once, /slow after 100 ms, /hang never within the test's timeout.
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === '/slow') await Bun.sleep(100);
    if (path === '/hang') await Bun.sleep(2_000);
    return Response.json({ eventId: `e-${path}` }, { status: 202 });
  },
});
afterAll(() => server.stop(true));
const base = `http://127.0.0.1:${server.port}`;
const plan = (path: string) => () => ({ path, headers: { 'content-type': 'application/json' }, body: '{}' });

describe('runLoadgen', () => {
  test('sends the planned rate for the duration and keeps each 2xx answer parsed', async () => {
    const r = await runLoadgen({ baseUrl: base, concurrency: 4, ratePerSec: 200, durationMs: 500, next: plan('/fast') });
    expect(r.plannedSlots).toBe(100);
    // On a loaded machine a few last slots may come too late to be sent: they are counted, never lost.
    expect(r.sent.length + r.missedSlots).toBe(100);
    expect(r.sent.length).toBeGreaterThan(80);
    expect(r.sent.every((s) => s.status === 202 && (s.json as { eventId: string }).eventId === 'e-/fast')).toBe(true);
    expect(r.sent.every((s) => s.latencyMs >= s.serviceMs - 1e-6)).toBe(true);
  });

  test('warm-up answers are flagged and not part of the planned, measured slots', async () => {
    const r = await runLoadgen({ baseUrl: base, concurrency: 2, ratePerSec: 100, durationMs: 300, warmupMs: 200, next: plan('/fast') });
    expect(r.sent.filter((s) => s.warmup)).toHaveLength(20);
    expect(r.sent.filter((s) => !s.warmup).length + r.missedSlots).toBe(30);
  });

  test('a server slower than the schedule: latency counts the wait, unsent slots are missed, the run stays bounded', async () => {
    const t = performance.now();
    const r = await runLoadgen({ baseUrl: base, concurrency: 2, ratePerSec: 100, durationMs: 500, next: plan('/slow') });
    expect(performance.now() - t).toBeLessThan(1_500); // 0.5 s, plus the answers in flight
    expect(r.sent.length).toBeLessThanOrEqual(12); // 2 loops x ~100 ms per answer x 0.5 s
    expect(r.missedSlots).toBe(50 - r.sent.length);
    const last = r.sent.reduce((a, s) => (s.latencyMs > a.latencyMs ? s : a));
    expect(last.latencyMs).toBeGreaterThan(last.serviceMs + 50); // waited for a free loop
  });

  test('a request past its timeout is a transport error (status 0), not a hang', async () => {
    const r = await runLoadgen({ baseUrl: base, concurrency: 1, ratePerSec: 10, durationMs: 100, requestTimeoutMs: 100, next: plan('/hang') });
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]!.status).toBe(0);
    expect(r.sent[0]!.error).toContain('Timeout');
  });
});
