/** Helpers for tests that run the project's processes as a user would: as child processes. */
import { afterAll } from 'bun:test';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dir, '../..');

/** Polls `check` until it returns true or the deadline passes (then throws with `what`). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Spawns `bun <script>` from the repo root; killed (if still running) after the file's tests. */
export function spawnBun(script: string, env: Record<string, string>): Bun.Subprocess<'ignore', 'pipe', 'pipe'> {
  const proc = Bun.spawn([process.execPath, script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  afterAll(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  return proc;
}
