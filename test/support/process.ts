/** Helpers for tests that run the project's processes as a user would: as child processes. */
import { afterAll } from 'bun:test';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dir, '../..');

/**
 * The one poll-with-a-deadline of the tests (wait on conditions, not sleeps). Two forms:
 * - `waitFor(what, check)`: polls until `check()` returns true;
 * - `waitFor(what, read, done)`: polls until `done(read())` holds and returns that value.
 * A check or read that throws counts as "not yet". At the deadline it throws an error naming
 * `what`, with the last value read or the last error, so a failure says what was there.
 */
export function waitFor<T>(what: string, read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs?: number, everyMs?: number): Promise<T>;
export function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs?: number, everyMs?: number): Promise<void>;
export async function waitFor<T>(
  what: string,
  read: () => Promise<T> | T,
  ...rest: [((value: T) => boolean)?, number?, number?] | [number?, number?]
): Promise<T | void> {
  const [done, timeoutMs = 30_000, everyMs = 50] =
    typeof rest[0] === 'function' ? (rest as [(value: T) => boolean, number?, number?]) : [(v: T) => v === true, ...(rest as [number?, number?])];
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await read();
      last = { value };
      if (done(value)) return value;
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      const seen =
        last === undefined ? '' : 'error' in last ? `; last error: ${String(last.error)}` : `; last value: ${Bun.inspect(last.value).slice(0, 500)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await Bun.sleep(everyMs);
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
