import { afterEach, describe, expect, test } from 'bun:test';
import { Counter, Registry } from 'prom-client';
import { startHealthServer, type HealthServer } from '../../../consumers/runtime/http.ts';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('consumer health server', () => {
  test('serves liveness, readiness and metrics, and 404 elsewhere', async () => {
    const registry = new Registry();
    new Counter({ name: 'probe_total', help: 'x', registers: [registry] }).inc(3);
    let ready = false;
    let live = true;
    server = startHealthServer({ hostname: '127.0.0.1', port: 0, registry, isReady: async () => ready, isLive: () => live });
    const url = (p: string) => `http://127.0.0.1:${server!.port}${p}`;
    expect((await fetch(url('/healthz'))).status).toBe(200);
    expect((await fetch(url('/readyz'))).status).toBe(503);
    ready = true;
    expect((await fetch(url('/readyz'))).status).toBe(200);
    const metrics = await fetch(url('/metrics'));
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('probe_total 3');
    expect((await fetch(url('/nope'))).status).toBe(404);
    live = false;
    expect((await fetch(url('/healthz'))).status).toBe(503);
  });

  test('a readiness probe that throws means not ready', async () => {
    server = startHealthServer({
      hostname: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      isReady: async () => {
        throw new Error('database unreachable');
      },
      isLive: () => true,
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(503);
  });
});
