/**
 * The API app as src/server.ts composes it (write path, reads, analytics, probes, docs), over
 * stand-ins for the broker and the stores: for tests of the HTTP contract itself, which never
 * reach them (or only see empty answers).
 */
import { createAnalyticsRoutes } from '../../src/analytics/index.ts';
import type { AnalyticsQueryClient } from '../../src/analytics/service.ts';
import { createApp } from '../../src/http/app.ts';
import type { Authenticator } from '../../src/http/auth.ts';
import { createApiMetrics } from '../../src/http/metrics.ts';
import { silentLogger } from '../../src/kernel/observability/logger.ts';
import { createRegistry } from '../../src/kernel/observability/metrics.ts';
import { createReadRoutes } from '../../src/reads/index.ts';
import { createSessionRoutes } from '../../src/sessions/index.ts';

export function fullApp(authenticator?: Authenticator) {
  const metrics = createApiMetrics(createRegistry());
  const app = createApp({
    logger: silentLogger(),
    metrics,
    retryAfterSeconds: 1,
    accessLogSampleRate: 0,
    authenticator,
    draining: () => false,
    readiness: () => ({ ready: true }),
    plugins: [
      createSessionRoutes({
        publisher: { append: async () => {} },
        session: { now: Date.now, newEventId: () => Bun.randomUUIDv7(), maxClockSkewMs: 60_000 },
        bodyLimitBytes: 16_384,
        batchBodyLimitBytes: 1_048_576,
        retryAfterSeconds: 1,
        metrics,
      }),
      createReadRoutes({ pool: { query: async () => ({ rows: [] }) } as never }),
      createAnalyticsRoutes({ clickhouse: { query: async () => ({ json: async () => [] }) } as unknown as AnalyticsQueryClient, database: 'sessions' }),
    ],
  });
  return { app, metrics };
}
