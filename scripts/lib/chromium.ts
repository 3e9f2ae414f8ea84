/**
 * Headless Chromium for the dashboard's browser test and the benchmark's chart: Debian's
 * package (installed by scripts/install-chromium.sh when missing), driven by playwright-core,
 * offline, with a fresh profile per launch.
 */
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

const INSTALL_SCRIPT = join(import.meta.dir, '..', 'install-chromium.sh');

/** The Chromium executable, installing it if needed; or why there is none. */
export function findChromium(): { readonly path: string } | { readonly unavailable: string } {
  const run = Bun.spawnSync(['sh', INSTALL_SCRIPT], { stdout: 'pipe', stderr: 'pipe' });
  const path = run.stdout.toString().trim().split('\n').pop() ?? '';
  if (run.exitCode === 0 && path !== '') return { path };
  return { unavailable: `no Chromium: ${run.stderr.toString().trim() || `install-chromium.sh exited ${run.exitCode}`}` };
}

/**
 * A headless browser with its own profile in `userDataDir` (the caller removes it after
 * `close()`). Nothing reaches out to the network on its own: no sync, updates or QUIC.
 */
export function launchChromium(
  executablePath: string,
  userDataDir: string,
  viewport: { readonly width: number; readonly height: number },
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true, // playwright-core adds --headless itself
    timeout: 30_000,
    viewport,
    deviceScaleFactor: 1,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
