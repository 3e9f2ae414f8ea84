/**
 * The docs page in headless Chromium, with the Content-Security-Policy the API sends: Swagger UI
 * (served from node_modules) renders every operation of /openapi.json, the browser reports no
 * CSP violation on /docs or /dashboard, and nothing is fetched from another origin. Saves a
 * screenshot to test/artifacts/docs.png.
 */
import { afterAll, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { findChromium, launchChromium } from '../../scripts/lib/chromium.ts';
import { fullApp } from '../support/full-app.ts';

const SCREENSHOT = join(import.meta.dir, '../artifacts/docs.png');
const browserBinary = findChromium();
if ('unavailable' in browserBinary) console.warn(`SKIP docs e2e: ${browserBinary.unavailable}`);

test.skipIf('unavailable' in browserBinary)('/docs renders every operation under its CSP; /dashboard loads with no CSP violation', async () => {
  const { app } = fullApp();
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.fetch(request) });
  const userDataDir = mkdtempSync(join(tmpdir(), 'docs-e2e-'));
  let browser: BrowserContext | undefined;
  afterAll(async () => {
    await browser?.close();
    server.stop(true);
    rmSync(userDataDir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${server.port}`;
  const operations = Object.values(((await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, object> }).paths).reduce(
    (n, item) => n + Object.keys(item).length,
    0,
  );

  browser = await launchChromium('path' in browserBinary ? browserBinary.path : '', userDataDir, { width: 1400, height: 1000 });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const violations: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  page.on('pageerror', (e) => violations.push(String(e)));
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
  });

  await page.goto(`${base}/docs`, { waitUntil: 'load', timeout: 20_000 });
  await page.waitForSelector('.opblock-summary', { timeout: 20_000 });
  const rendered = await page.evaluate<number>("document.querySelectorAll('.opblock').length");
  expect(rendered).toBe(operations);
  expect(await page.evaluate<string>("document.querySelector('.info .title')?.textContent ?? ''")).toContain('Session pipeline API');
  mkdirSync(join(import.meta.dir, '../artifacts'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await page.goto(`${base}/dashboard`, { waitUntil: 'load', timeout: 20_000 });
  await page.waitForSelector('body[data-state]', { timeout: 20_000 });
  expect({ violations, foreign }).toEqual({ violations: [], foreign: [] });
}, 90_000);
