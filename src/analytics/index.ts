/**
 * Analytics routes, an Elysia plugin the API mounts:
 *   GET /analytics/latency       percentile series from the per-minute rollup
 *   GET /analytics/throughput    accepted events per second (raw table, distinct event ids)
 *   GET /analytics/consumer-lag  Kafka consumer-group lag, when a probe is wired
 *   GET /dashboard               a self-refreshing page of charts over those three
 *   GET /dashboard/assets/:file  its script and style, and uPlot served from node_modules
 * The data routes need the `read` scope; the page and its assets are open (they hold no data:
 * the page fetches the data routes with a key from its #key= fragment). Errors are thrown
 * (ValidationError, AppError); the app's error mapper makes the responses.
 */
import { Elysia } from 'elysia';
import { z } from 'zod';
import { AppError } from '../kernel/errors.ts';
import { routeContract } from '../http/contract.ts';
import { ASSET_SECURITY_HEADERS, PAGE_SECURITY_HEADERS } from '../http/security-headers.ts';
import type { ConsumerLagProbe } from './consumer-lag.ts';
import { DASHBOARD_ASSETS, dashboardAsset, dashboardHtml } from './dashboard.ts';
import {
  ConsumerLagSchema,
  LatencyQuery,
  LatencySeriesSchema,
  ThroughputQuery,
  ThroughputSeriesSchema,
  parseLatencyQuery,
  parseThroughputQuery,
} from './model.ts';
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
  const windowProblems = {
    422: 'A query parameter is invalid, `to` is not after `from`, or the window is over 31 days or 1,500 steps: `issues` names the field',
    503: 'ClickHouse did not answer',
  } as const;
  return new Elysia({ name: 'analytics' })
    .use(routeContract)
    .get('/analytics/latency', ({ query }) => queryLatency(store, parseLatencyQuery(query)), {
      auth: 'read',
      contract: {
        summary: 'Session duration, pipeline lag and client lag percentiles per bucket (per-minute rollup)',
        tags: ['analytics'],
        query: LatencyQuery,
        responses: { 200: { description: 'Buckets with data, oldest first', schema: LatencySeriesSchema } },
        problems: windowProblems,
      },
    })
    .get('/analytics/throughput', ({ query }) => queryThroughput(store, parseThroughputQuery(query)), {
      auth: 'read',
      contract: {
        summary: 'Accepted events per second per bucket (distinct events landed in ClickHouse)',
        tags: ['analytics'],
        query: ThroughputQuery,
        responses: { 200: { description: 'Every bucket of the window, zero-filled, oldest first', schema: ThroughputSeriesSchema } },
        problems: windowProblems,
      },
    })
    .get(
      '/analytics/consumer-lag',
      async () => {
        const at = new Date(now()).toISOString();
        if (deps.consumerLag === undefined) {
          return { available: false as const, at, reason: 'no Kafka admin is wired to the analytics routes' };
        }
        return { available: true as const, at, groups: await deps.consumerLag() };
      },
      {
        auth: 'read',
        contract: {
          summary: 'Kafka lag of the read-side consumer groups',
          tags: ['analytics'],
          responses: { 200: { description: 'Lag per group and partition, or why it is not available', schema: ConsumerLagSchema } },
          problems: { 503: 'Kafka did not answer' },
        },
      },
    )
    .get(
      '/dashboard',
      () =>
        new Response(dashboardHtml({ refreshMs }), {
          headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...PAGE_SECURITY_HEADERS },
        }),
      {
        auth: 'open',
        contract: {
          summary: 'Latency dashboard (HTML; open, holds no data: it reads the analytics routes with the key in its #key= fragment)',
          tags: ['analytics'],
          responses: { 200: { description: 'HTML page', contentTypes: ['text/html'] } },
        },
      },
    )
    .get(
      '/dashboard/assets/:file',
      ({ params }) => {
        const asset = dashboardAsset(params.file);
        if (asset === undefined) throw new AppError('NOT_FOUND', `No dashboard asset ${JSON.stringify(params.file)}.`);
        return new Response(asset.body, {
          headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=3600', ...ASSET_SECURITY_HEADERS },
        });
      },
      {
        auth: 'open',
        contract: {
          summary: "The dashboard's scripts and styles",
          tags: ['analytics'],
          params: z.object({ file: z.enum(DASHBOARD_ASSETS) }),
          responses: { 200: { description: 'The file', contentTypes: ['text/javascript', 'text/css'] } },
          problems: { 404: 'No such asset' },
        },
      },
    );
}

export type { ConsumerLagProbe, GroupLag } from './consumer-lag.ts';
export { createKafkaConsumerLagProbe } from './consumer-lag.ts';
