/**
 * Renders the chart SVG to a PNG in headless Chromium (Debian's package, driven by
 * playwright-core; installed by scripts/install-chromium.sh when missing). Offline: the page is
 * the SVG itself, set as content; nothing is fetched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium, launchChromium } from '../../scripts/lib/chromium.ts';

export async function svgToPng(svg: string, pngPath: string, width: number): Promise<void> {
  const found = findChromium();
  if ('unavailable' in found) throw new Error(`${found.unavailable} (for the chart)`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'bench-chart-'));
  const context = await launchChromium(found.path, userDataDir, { width, height: 800 });
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
