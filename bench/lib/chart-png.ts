/**
 * Renders the chart SVG to a PNG in headless Chromium (Debian's package, driven by
 * playwright-core; installed by scripts/install-chromium.sh when missing). Offline: the page is
 * the SVG itself, set as content; nothing is fetched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './targets.ts';

function chromiumPath(): string {
  const run = Bun.spawnSync(['sh', join(REPO, 'scripts/install-chromium.sh')], { stdout: 'pipe', stderr: 'pipe' });
  const path = run.stdout.toString().trim().split('\n').pop() ?? '';
  if (run.exitCode !== 0 || !path) throw new Error(`no Chromium for the chart: ${run.stderr.toString().trim()}`);
  return path;
}

export async function svgToPng(svg: string, pngPath: string, width: number): Promise<void> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'bench-chart-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    timeout: 30_000,
    viewport: { width, height: 800 },
    deviceScaleFactor: 1,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`, { waitUntil: 'load' });
    const element = await page.$('svg');
    if (!element) throw new Error('the chart SVG did not render');
    writeFileSync(pngPath, await element.screenshot({ type: 'png' }));
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
