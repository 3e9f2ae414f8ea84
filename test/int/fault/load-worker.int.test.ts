/**
 * The fault harness's load worker (scripts/lib/fault/load-worker.ts) as the fault run uses it:
 * a child process sending an open-loop rate, tagged by phases on stdin, stopped while requests
 * are in flight. Against a local stand-in server (the harness is under test here, not the
 * pipeline): every request the worker says it sent has its answer recorded and lands in the
 * phase it was sent in, including those sent before a phase change or the stop reached it.
 */
import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAttempts, startLoad } from '../../../scripts/lib/fault/load.ts';
import { accountRequests } from '../../../scripts/lib/fault/scenario.ts';
import { waitFor } from '../../support/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'load-worker-'));
let served = 0;
// Answers after up to 300 ms (so requests are open when the stop comes); every 7th first attempt gets a 503.
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    served += 1;
    const n = Number(new URL(req.url).pathname.split('/')[2]?.split('-').at(-1));
    await Bun.sleep((n * 37) % 300);
    if (n % 7 === 0 && req.headers.get('x-retry') === null && served % 2 === 0) {
      return new Response(JSON.stringify({ code: 'OVERLOADED' }), { status: 503, headers: { 'retry-after': '0' } });
    }
    return new Response(JSON.stringify({ eventId: `e-${n}`, status: 'accepted' }), { status: 202 });
  },
});
afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

test('every request sent is recorded once answered, in the phase it was sent in, even when stopped mid-flight', async () => {
  const out = join(dir, 'load.ndjson');
  const load = startLoad({ url: `http://127.0.0.1:${server.port}`, runId: 'lw', rate: 400, phase: 'baseline', out, requestTimeoutMs: 5_000, maxDurationMs: 60_000, maxRequests: 100_000 });
  await waitFor('the worker to be sending', () => (load.progress()?.started ?? 0) > 0, 20_000);
  await Bun.sleep(500);
  load.phase('fault#1');
  await Bun.sleep(700);
  load.phase('fault#2');
  const summary = await load.stop(); // at once: the last phase's requests are still open
  const attempts = await readAttempts(out);

  expect(summary.started).toBeGreaterThan(200);
  const requests = accountRequests(summary, attempts);
  expect(requests.size).toBe(summary.started);
  expect([...requests.values()].filter((r) => !r.answered)).toEqual([]);
  // Each answer carries the phase its request was sent in, as the bookkeeping says.
  expect(attempts.filter((a) => requests.get(a.n)?.phase !== a.p)).toEqual([]);
  expect(summary.phases.map((p) => p.phase)).toEqual(['baseline', 'fault#1', 'fault#2']);
  expect(new Set(attempts.map((a) => a.p))).toContain('fault#1');
  // The 202s are the stand-in's event ids; the 503s were retried with the same request number.
  expect(attempts.filter((a) => a.s === 202).every((a) => a.id === `e-${a.n}`)).toBe(true);
  expect(served).toBe(attempts.length);
}, 60_000);
