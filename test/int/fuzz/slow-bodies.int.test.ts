/**
 * Truncated and slow requests against the real API process, over raw TCP: a body cut short by a
 * closed connection, a body that stalls after the headers, a head that never ends, and a body
 * that trickles in a byte at a time. The server must not crash, must keep serving everyone else
 * meanwhile, and must not hold a slow request forever (Bun's idleTimeout, 30 s in src/server.ts,
 * is what closes it; a never-ending head goes sooner): these tests wait that long, in parallel, once.
 */
import { beforeAll, expect, test } from 'bun:test';
import { validCompletion } from './arbitraries.ts';
import { type FuzzTarget, type RawResponse, fuzzTarget, rawRequest, requestHead, withBody } from './support.ts';

const target = fuzzTarget();
let api: FuzzTarget;
beforeAll(async () => {
  api = await target.start();
}, 90_000);

const IDLE_TIMEOUT_S = 30; // src/server.ts app.listen({ idleTimeout })
let dripping: ReturnType<typeof trickle> | undefined;
const body = JSON.stringify(validCompletion());
const head = (path: string, contentLength: number) =>
  requestHead('POST', path, [
    ['Content-Type', 'application/json'],
    ['Content-Length', String(contentLength)],
  ]);

/** Opens a connection, sends `first`, then one byte of `rest` every `everyMs` until the server closes or `forMs` passes. */
function trickle(first: string, rest: string, everyMs: number, forMs: number): Promise<{ closedByServer: boolean; ms: number; sent: number; status?: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let sent = 0;
    let answer = '';
    let timer: ReturnType<typeof setInterval> | undefined;
    let settled = false;
    const done = (closedByServer: boolean, socket?: { terminate(): void }) => {
      if (settled) return;
      settled = true;
      if (timer) clearInterval(timer);
      try {
        socket?.terminate();
      } catch {
        // closed already
      }
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      resolve({ closedByServer, ms: performance.now() - started, sent, ...(m ? { status: Number(m[1]) } : {}) });
    };
    void Bun.connect({
      hostname: '127.0.0.1',
      port: api.port,
      socket: {
        open(socket) {
          socket.write(first);
          timer = setInterval(() => {
            if (performance.now() - started >= forMs || sent >= rest.length) return done(false, socket);
            socket.write(rest.slice(sent, sent + 1));
            sent += 1;
          }, everyMs);
        },
        data(_s, chunk) {
          answer += Buffer.from(chunk).toString('latin1');
        },
        close: () => done(true),
        end: () => done(true),
        error: () => done(true),
        connectError: () => done(true),
      },
    });
  });
}

test('truncated bodies (connection closed mid-body) do not hurt the server', async () => {
  const results: RawResponse[] = await Promise.all(
    Array.from({ length: 40 }, (_, i) => {
      const cut = Math.floor((i / 40) * body.length);
      return rawRequest(api.port, withBody(head(`/sessions/trunc-${i}/complete`, body.length + i), body.slice(0, cut)), { thenClose: true, timeoutMs: 40_000 });
    }),
  );
  console.log(`[fuzz] truncated bodies: ${results.length} cases; statuses ${JSON.stringify(results.map((r) => r.status ?? 'closed'))}`);
  for (const r of results) {
    expect(r.timedOut).toBe(false);
    if (r.status !== undefined) expect(r.status).toBeLessThan(500);
  }
  expect(api.alive()).toBe(true);
  expect(await api.healthy()).toBe(true);
}, 60_000);

test(
  'stalled bodies and never-ending heads are closed by the server (idleTimeout), and others are served meanwhile',
  async () => {
    // The trickle of the next test runs alongside, so the suite waits for the idle timeout once.
    dripping = trickle(head('/sessions/drip/complete', body.length), body, 5_000, (IDLE_TIMEOUT_S + 20) * 1000);
    const stalledBodies = Array.from({ length: 20 }, (_, i) =>
      rawRequest(api.port, withBody(head(`/sessions/stall-${i}/complete`, body.length), body.slice(0, i)), {
        thenStall: true,
        timeoutMs: (IDLE_TIMEOUT_S + 30) * 1000,
      }),
    );
    const stalledHeads = Array.from({ length: 10 }, (_, i) =>
      rawRequest(api.port, `POST /sessions/slowloris-${i}/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl`, {
        thenStall: true,
        timeoutMs: (IDLE_TIMEOUT_S + 30) * 1000,
      }),
    );
    // While those hang, the server keeps answering.
    await Bun.sleep(1_000);
    expect(await api.healthy()).toBe(true);
    const during = await fetch(`${api.url}/sessions/while-stalled/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(during.status).toBe(202);

    const bodies = await Promise.all(stalledBodies);
    const heads = await Promise.all(stalledHeads);
    const summary = (rs: RawResponse[]) => ({
      closedByServer: rs.filter((r) => r.closedByServer).length,
      maxSeconds: Math.round(Math.max(...rs.map((r) => r.ms)) / 100) / 10,
      statuses: [...new Set(rs.map((r) => r.status ?? 'none'))],
    });
    console.log(`[fuzz] stalled bodies: ${JSON.stringify(summary(bodies))}; stalled heads: ${JSON.stringify(summary(heads))}`);
    for (const r of [...bodies, ...heads]) {
      expect(r.closedByServer).toBe(true); // not our deadline: the server let go
      expect(r.ms).toBeLessThan((IDLE_TIMEOUT_S + 15) * 1000);
      if (r.status !== undefined) expect(r.status).toBeLessThan(500);
    }
    expect(api.alive()).toBe(true);
    expect(await api.healthy()).toBe(true);
  },
  (IDLE_TIMEOUT_S + 60) * 1000,
);

/**
 * A body trickled in a byte every 5 s: every byte is activity, yet Bun still cuts the request off
 * at about idleTimeout (measured: ~32 s), so a drip-feeding client cannot hold a connection and a
 * pending handler for longer than that. (The trickle runs alongside the stalls above.)
 */
test(
  'a body trickled in a byte every 5 s is cut off by the server at about idleTimeout',
  async () => {
    const drip = await (dripping ?? trickle(head('/sessions/drip/complete', body.length), body, 5_000, (IDLE_TIMEOUT_S + 20) * 1000));
    console.log(`[fuzz] trickled body: ${JSON.stringify(drip)}`);
    expect(api.alive()).toBe(true);
    expect(drip.closedByServer).toBe(true);
    expect(drip.ms).toBeLessThan((IDLE_TIMEOUT_S + 15) * 1000);
    if (drip.status !== undefined) expect(drip.status).toBeLessThan(500);
  },
  (IDLE_TIMEOUT_S + 40) * 1000,
);
