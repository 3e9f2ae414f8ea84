import { describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { createAnalyticsRoutes, createKafkaConsumerLagProbe } from '../../../src/analytics/index.ts';
import type { AnalyticsQueryClient } from '../../../src/analytics/service.ts';
import { isAppError, ValidationError } from '../../../src/kernel/errors.ts';

/** A query client that records the SQL it was sent and answers from a script, by table. */
function stubClient(answers: { latency?: unknown[]; throughput?: unknown[]; last?: unknown[] } = {}) {
  const sent: string[] = [];
  const client = {
    async query({ query }: { query: string }) {
      sent.push(query);
      const rows = query.includes('session_latency_1m')
        ? answers.latency
        : query.includes('uniqExact')
          ? answers.throughput
          : answers.last;
      return { json: async () => rows ?? [] };
    },
  } as unknown as AnalyticsQueryClient;
  return { client, sent };
}

/** A stand-in for the app's error mapper: status and issues, enough to assert on. */
function mount(plugin: ReturnType<typeof createAnalyticsRoutes>) {
  return new Elysia()
    .onError(({ error, set }) => {
      set.status = error instanceof ValidationError ? 422 : isAppError(error) && error.code === 'NOT_FOUND' ? 404 : 500;
      return { code: isAppError(error) ? error.code : 'INTERNAL', issues: error instanceof ValidationError ? error.issues : [] };
    })
    .use(plugin);
}

const get = (app: { handle(r: Request): Promise<Response> }, path: string) => app.handle(new Request(`http://local${path}`));
const FROM = '2026-01-31T12:00:00Z';
const TO = '2026-01-31T13:00:00Z';

describe('GET /analytics/latency', () => {
  test.each([
    ['', ['query.from', 'query.to']],
    [`?from=${FROM}`, ['query.to']],
    [`?from=yesterday&to=${TO}`, ['query.from']],
    [`?from=${TO}&to=${FROM}`, ['query.to']],
    [`?from=${FROM}&to=${FROM}`, ['query.to']],
    [`?from=${FROM}&to=${TO}&step=7m`, ['query.step']],
    [`?from=${FROM}&to=${TO}&outcome=x'%20OR%201=1`, ['query.outcome']],
    [`?from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z&step=1m`, ['query.step']],
    [`?from=2025-01-01T00:00:00Z&to=2026-01-31T00:00:00Z&step=1h`, ['query.to']],
  ])('rejects %s with issues at %p, without querying', async (qs, paths) => {
    const { client, sent } = stubClient();
    const response = await get(mount(createAnalyticsRoutes({ clickhouse: client, database: 'sessions' })), `/analytics/latency${qs}`);
    expect(response.status).toBe(422);
    const body = (await response.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path).sort()).toEqual([...paths].sort());
    expect(sent).toEqual([]);
  });

  test('builds SQL from numbers and enum members only, and shapes the series', async () => {
    const t = Date.parse(FROM) / 1000;
    const { client, sent } = stubClient({
      latency: [
        { t, n: 3, duration: [100, 190, 199.5], pipeline_lag: [20, 30, 40], client_lag: [5, 6, 7] },
        { t: t + 300, n: '2', duration: ['10', 11, 12], pipeline_lag: [1, 2, 3], client_lag: [0, 0, 0] },
      ],
    });
    const app = mount(createAnalyticsRoutes({ clickhouse: client, database: 'sessions' }));
    const response = await get(app, `/analytics/latency?from=2026-01-31T12:02:30%2B00:00&to=${TO}&step=5m&outcome=failed`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      from: '2026-01-31T12:00:00.000Z', // aligned down to the step
      to: '2026-01-31T13:00:00.000Z',
      step: '5m',
      outcome: 'failed',
      points: [
        {
          t: '2026-01-31T12:00:00.000Z',
          count: 3,
          durationMs: { p50: 100, p95: 190, p99: 199.5 },
          pipelineLagMs: { p50: 20, p99: 40 },
          clientLagMs: { p50: 5, p99: 7 },
        },
        {
          t: '2026-01-31T12:05:00.000Z',
          count: 2,
          durationMs: { p50: 10, p95: 11, p99: 12 },
          pipelineLagMs: { p50: 1, p99: 3 },
          clientLagMs: { p50: 0, p99: 0 },
        },
      ],
    });
    expect(sent).toHaveLength(1);
    const sql = sent[0]!;
    expect(sql).toContain('FROM sessions.session_latency_1m');
    expect(sql).toContain(`minute >= toDateTime(${t}) AND minute < toDateTime(${t + 3600})`);
    expect(sql).toContain("AND outcome = 'failed'");
    expect(sql).toContain('intDiv(toUInt32(minute), 300) * 300');
  });
});

describe('GET /analytics/throughput', () => {
  test('zero-fills every bucket of the window and reports the last event seen', async () => {
    const t = Date.parse(FROM) / 1000;
    const { client } = stubClient({
      throughput: [{ t: t + 20, n: 50 }],
      last: [{ n: 50, received: t + 29, ingested: t + 30 }],
    });
    const app = mount(createAnalyticsRoutes({ clickhouse: client, database: 'sessions' }));
    const response = await get(app, `/analytics/throughput?from=${FROM}&to=2026-01-31T12:00:40Z&step=10s`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { points: { events: number; eventsPerSecond: number }[]; lastReceivedAt: string };
    expect(body.points.map((p) => p.events)).toEqual([0, 0, 50, 0]);
    expect(body.points[2]!.eventsPerSecond).toBe(5);
    expect(body.lastReceivedAt).toBe('2026-01-31T12:00:29.000Z');
  });

  test('rejects a step finer than a second', async () => {
    const { client } = stubClient();
    const response = await get(mount(createAnalyticsRoutes({ clickhouse: client, database: 'sessions' })), `/analytics/throughput?from=${FROM}&to=${TO}&step=1ms`);
    expect(response.status).toBe(422);
  });
});

describe('GET /analytics/consumer-lag', () => {
  test('says it is not measured when no probe is wired', async () => {
    const { client } = stubClient();
    const body = (await (await get(mount(createAnalyticsRoutes({ clickhouse: client, database: 'db' })), '/analytics/consumer-lag')).json()) as {
      available: boolean;
    };
    expect(body.available).toBe(false);
  });

  test('reports high watermark minus committed offset per partition (low watermark when nothing is committed)', async () => {
    const admin = {
      fetchTopicOffsets: async () => [
        { partition: 1, offset: '90', high: '90', low: '10' },
        { partition: 0, offset: '100', high: '100', low: '0' },
      ],
      fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '60', metadata: null }, { partition: 1, offset: '-1', metadata: null }] }],
    };
    const probe = createKafkaConsumerLagProbe(admin as never, 't', ['g']);
    const { client } = stubClient();
    const app = mount(createAnalyticsRoutes({ clickhouse: client, database: 'db', consumerLag: probe, now: () => 0 }));
    const body = await (await get(app, '/analytics/consumer-lag')).json();
    expect(body).toEqual({
      available: true,
      at: '1970-01-01T00:00:00.000Z',
      groups: [
        {
          groupId: 'g',
          topic: 't',
          lag: 120,
          partitions: [
            { partition: 0, committed: 60, high: 100, lag: 40 },
            { partition: 1, committed: null, high: 90, lag: 80 },
          ],
        },
      ],
    });
  });
});

describe('GET /dashboard', () => {
  const app = mount(createAnalyticsRoutes({ clickhouse: stubClient().client, database: 'db', dashboardRefreshMs: 2_000 }));

  test('serves the page, which loads its chart library from this server', async () => {
    const response = await get(app, '/dashboard');
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('src="/dashboard/assets/uPlot.iife.min.js"');
    expect(html).toContain('data-refresh-ms="2000"');
    expect(html).not.toMatch(/https?:\/\//);
  });

  test.each([
    ['uPlot.iife.min.js', 'text/javascript'],
    ['uPlot.min.css', 'text/css'],
    ['dashboard.js', 'text/javascript'],
    ['dashboard.css', 'text/css'],
  ])('serves %s', async (file, type) => {
    const response = await get(app, `/dashboard/assets/${file}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain(type);
    expect((await response.text()).length).toBeGreaterThan(100);
  });

  test.each(['nope.js', '..%2F..%2Fpackage.json', 'toString', '__proto__'])('answers 404 for %s', async (file) => {
    expect((await get(app, `/dashboard/assets/${file}`)).status).toBe(404);
  });
});

test('refuses a database name that is not an identifier', () => {
  expect(() => createAnalyticsRoutes({ clickhouse: stubClient().client, database: 'x; DROP TABLE y' })).toThrow();
});
