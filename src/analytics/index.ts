/**
 * Analytics routes, an Elysia plugin the API mounts:
 *   GET /analytics/latency       percentile series from the per-minute rollup
 *   GET /analytics/throughput    accepted events per second (raw table, distinct event ids)
 *   GET /analytics/consumer-lag  Kafka consumer-group lag, when a probe is wired
 *   GET /dashboard               a self-refreshing page of charts over those three
 *   GET /dashboard/assets/:file  its script and style, and uPlot served from node_modules
 * Errors are thrown (ValidationError, AppError); the app's error mapper makes the responses.
 */
import { Elysia } from 'elysia';
import { AppError } from '../kernel/errors.ts';
import type { ConsumerLagProbe } from './consumer-lag.ts';
import { dashboardAsset, dashboardHtml } from './dashboard.ts';
import { parseLatencyQuery, parseThroughputQuery } from './model.ts';
import { type AnalyticsQueryClient, assertDatabaseName, queryLatency, queryThroughput } from './service.ts';

export interface AnalyticsRoutesDeps {
  /** A @clickhouse/client instance (only `query` is used). */
  readonly clickhouse: AnalyticsQueryClient;
  /** The database holding session_events and session_latency_1m (CLICKHOUSE_DATABASE). */
  readonly database: string;
  /** Kafka lag of the consumer groups; without it the dashboard says lag is not measured here. */
  readonly consumerLag?: ConsumerLagProbe;
  /** How often the dashboard refreshes itself (default 5 s). */
  readonly dashboardRefreshMs?: number;
  readonly now?: () => number;
}

export function createAnalyticsRoutes(deps: AnalyticsRoutesDeps) {
  const store = { client: deps.clickhouse, database: assertDatabaseName(deps.database) };
  const now = deps.now ?? Date.now;
  const refreshMs = deps.dashboardRefreshMs ?? 5_000;
  return new Elysia()
    .get('/analytics/latency', ({ query }) => queryLatency(store, parseLatencyQuery(query)))
    .get('/analytics/throughput', ({ query }) => queryThroughput(store, parseThroughputQuery(query)))
    .get('/analytics/consumer-lag', async () => {
      const at = new Date(now()).toISOString();
      if (deps.consumerLag === undefined) {
        return { available: false as const, at, reason: 'no Kafka admin is wired to the analytics routes' };
      }
      return { available: true as const, at, groups: await deps.consumerLag() };
    })
    .get(
      '/dashboard',
      () =>
        new Response(dashboardHtml({ refreshMs }), {
          headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        }),
    )
    .get('/dashboard/assets/:file', ({ params }) => {
      const asset = dashboardAsset(params.file);
      if (asset === undefined) throw new AppError('NOT_FOUND', `No dashboard asset ${JSON.stringify(params.file)}.`);
      return new Response(asset.body, {
        headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=3600' },
      });
    });
}

export type { ConsumerLagProbe, GroupLag } from './consumer-lag.ts';
export { createKafkaConsumerLagProbe } from './consumer-lag.ts';
