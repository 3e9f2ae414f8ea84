/**
 * The small HTTP side of a consumer process: liveness, readiness and Prometheus metrics on the
 * consumer's own port. No framework: three fixed paths.
 */
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly registry: Registry;
  /** Ready = joined to the group and the sink is reachable. */
  readonly isReady: () => Promise<boolean>;
  /** Live = the run loop has not crashed for good. */
  readonly isLive: () => boolean;
}

export interface HealthServer {
  readonly port: number;
  stop(): Promise<void>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export function startHealthServer(options: HealthServerOptions): HealthServer {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (request.method !== 'GET') return json(405, { status: 'method not allowed' });
      switch (pathname) {
        case '/healthz':
          return options.isLive() ? json(200, { status: 'ok' }) : json(503, { status: 'crashed' });
        case '/readyz': {
          const ready = await options.isReady().catch(() => false);
          return ready ? json(200, { status: 'ready' }) : json(503, { status: 'not ready' });
        }
        case '/metrics':
          return new Response(await options.registry.metrics(), {
            headers: { 'content-type': options.registry.contentType },
          });
        default:
          return json(404, { status: 'not found' });
      }
    },
  });
  return {
    port: server.port ?? options.port,
    stop: async () => {
      await server.stop(true);
    },
  };
}
