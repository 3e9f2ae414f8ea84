/**
 * The dashboard in a real browser: the API app (with its error mapper) serving the analytics
 * plugin over a fresh ClickHouse database of known events and a real Kafka consumer lag,
 * loaded in Debian's headless Chromium through playwright-core. Checks that every chart drew
 * data, that the page refreshed itself, that it fetched nothing from outside this machine, and
 * saves a screenshot to test/artifacts/dashboard.png.
 *
 * Chromium comes from scripts/install-chromium.sh (idempotent; installs Debian's package when
 * it can). When it cannot, the test is skipped with the script's reason.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { findChromium, launchChromium } from '../../scripts/lib/chromium.ts';
import { createClickHouseInserter } from '../../consumers/clickhouse/inserter.ts';
import { toSessionEventRow } from '../../consumers/clickhouse/rows.ts';
import { createAnalyticsRoutes, createKafkaConsumerLagProbe } from '../../src/analytics/index.ts';
import { createApp } from '../../src/http/app.ts';
import { parseApiKeys, sha256Hex } from '../../src/kernel/api-keys.ts';
import { createAuthenticator } from '../../src/http/auth.ts';
import { createApiMetrics } from '../../src/http/metrics.ts';
import { silentLogger } from '../../src/kernel/observability/logger.ts';
import { createRegistry } from '../../src/kernel/observability/metrics.ts';
import { freshDatabase, testClickHouse } from '../int/clickhouse/support.ts';
import { testKafka, topicFactory } from '../support/kafka.ts';
import { makeEvent } from '../support/events.ts';

const ROOT = join(import.meta.dir, '../..');
const READ_KEY = 'dashboard-test-read-key';
const SCREENSHOT = join(ROOT, 'test/artifacts/dashboard.png');

const browserBinary = findChromium();
if ('unavailable' in browserBinary) console.warn(`SKIP dashboard e2e: ${browserBinary.unavailable}`);

const database = await freshDatabase('dashboard');
const freshTopic = topicFactory();

/** 30 minutes of known traffic ending now: 20-39 events a minute, durations rising over time. */
async function insertKnownEvents(): Promise<number> {
  const now = Date.now();
  const rows = [];
  for (let m = 30; m >= 1; m--) {
    const perMinute = 20 + ((m * 7) % 20);
    for (let i = 0; i < perMinute; i++) {
      const receivedAtMs = now - m * 60_000 + Math.floor((i * 60_000) / perMinute);
      const event = makeEvent({
        receivedAt: receivedAtMs,
        durationMs: 2_000 + (30 - m) * 100 + i * 40,
        clientLagMs: 30 + (i % 10),
        outcome: i % 5 === 0 ? 'failed' : 'completed',
        userId: `user-${i % 8}`,
      });
      rows.push(toSessionEventRow(event, receivedAtMs + 300 + ((i * 37) % 900)));
    }
  }
  await createClickHouseInserter(testClickHouse, database).insert(rows);
  return rows.length;
}

/** A topic with 25 messages and a group that never read them: a consumer lag of 25, measured by Kafka. */
async function laggingGroup(): Promise<{ topic: string; groupId: string }> {
  const topic = await freshTopic('dashboard-lag', 1);
  const producer = testKafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 25 }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();
  return { topic, groupId: `${topic}.never-consumed` };
}

describe('GET /dashboard in headless Chromium', () => {
  let browser: BrowserContext | undefined;
  let server: ReturnType<typeof Bun.serve> | undefined;
  const userDataDir = mkdtempSync(join(tmpdir(), 'dashboard-e2e-'));
  afterAll(async () => {
    await browser?.close();
    await server?.stop(true);
    rmSync(userDataDir, { recursive: true, force: true });
  });

  test.skipIf('unavailable' in browserBinary)(
    'renders throughput, duration, pipeline lag and consumer lag charts with data, and refreshes itself',
    async () => {
      const executablePath = 'path' in browserBinary ? browserBinary.path : '';
      const inserted = await insertKnownEvents();
      const lagging = await laggingGroup();
      const admin = testKafka.admin();
      await admin.connect();
      afterAll(() => admin.disconnect());

      const app = createApp({
        logger: silentLogger(),
        metrics: createApiMetrics(createRegistry()),
        retryAfterSeconds: 1,
        accessLogSampleRate: 0,
        // Auth on, as in production: the page gets a read key through its #key= fragment.
        authenticator: createAuthenticator(parseApiKeys(`dashboard:read:${sha256Hex(READ_KEY)}`)),
        readiness: () => ({ ready: true }),
        draining: () => false,
        plugins: [
          createAnalyticsRoutes({
            clickhouse: testClickHouse,
            database,
            consumerLag: createKafkaConsumerLagProbe(admin, lagging.topic, [lagging.groupId]),
            dashboardRefreshMs: 1_000,
          }),
        ],
      });
      server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.fetch(request) });
      const base = `http://127.0.0.1:${server.port}`;

      // The API itself, before the browser: a bad window is a 422 naming the field.
      const bad = await fetch(`${base}/analytics/latency?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, {
        headers: { authorization: `Bearer ${READ_KEY}` },
      });
      expect(bad.status).toBe(422);
      expect(await bad.text()).toContain('query.to');

      // A fresh profile (--user-data-dir) per run.
      browser = await launchChromium(executablePath, userDataDir, { width: 1400, height: 1000 });
      const page = browser.pages()[0] ?? (await browser.newPage());
      const requested: string[] = [];
      const pageErrors: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      page.on('pageerror', (e) => pageErrors.push(String(e)));

      await page.goto(`${base}/dashboard?window=1h#key=${READ_KEY}`, { waitUntil: 'load', timeout: 20_000 });
      await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
      // Self-refresh: at least two more rounds after the first, every second.
      // (Browser-side code is passed as strings: this project's TypeScript has no DOM types.)
      // Polled with page.evaluate: waitForFunction compiles its predicate inside the page, which
      // the page's Content-Security-Policy (no eval) rightly refuses.
      for (const deadline = Date.now() + 20_000; !(await page.evaluate<boolean>('Number(document.body.dataset.refreshes) >= 3')); ) {
        if (Date.now() > deadline) throw new Error('the dashboard did not refresh itself 3 times within 20 s');
        await Bun.sleep(100);
      }

      interface ChartState {
        points: number;
        canvases: number;
        available: string | null;
      }
      const state = await page.evaluate<{
        state: string;
        points: number;
        throughput: ChartState;
        duration: ChartState;
        pipelineLag: ChartState;
        consumerLag: ChartState;
        events: string | null;
        lagTile: string | null;
      }>(`(() => {
        const chart = (id) => {
          const figure = document.getElementById(id);
          return {
            points: Number(figure.dataset.points),
            canvases: figure.querySelectorAll('canvas').length,
            available: figure.dataset.available ?? null,
          };
        };
        return {
          state: document.body.dataset.state,
          points: Number(document.body.dataset.points),
          throughput: chart('chart-throughput'),
          duration: chart('chart-duration'),
          pipelineLag: chart('chart-pipeline-lag'),
          consumerLag: chart('chart-consumer-lag'),
          events: document.getElementById('tile-events').textContent,
          lagTile: document.getElementById('tile-consumer-lag').textContent,
        };
      })()`);
      expect(pageErrors).toEqual([]);
      expect(state.state).toBe('ready');
      expect(state.points).toBeGreaterThan(0);
      // 1 h window, 10 s throughput buckets: 360 of them (zero-filled), 30 minutes of data.
      expect(state.throughput.canvases).toBeGreaterThan(0);
      expect(state.throughput.points).toBeGreaterThanOrEqual(360);
      // One point per minute of data in the rollup (the first and the current minute may be partial).
      expect(state.duration.canvases).toBeGreaterThan(0);
      expect(state.duration.points).toBeGreaterThanOrEqual(29);
      expect(state.pipelineLag.points).toBe(state.duration.points);
      expect(state.consumerLag.available).toBe('true');
      expect(state.consumerLag.points).toBeGreaterThanOrEqual(3);
      expect(state.consumerLag.canvases).toBeGreaterThan(0);
      expect(state.lagTile).toBe('25');
      expect(Number(state.events?.replace(/\D/g, ''))).toBe(inserted);
      // Offline machines: everything, the chart library included, came from this server.
      expect(requested.filter((u) => !u.startsWith(base))).toEqual([]);
      expect(requested).toContain(`${base}/dashboard/assets/uPlot.iife.min.js`);

      mkdirSync(join(ROOT, 'test/artifacts'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    },
    120_000,
  );
});
