/** Starts the systems under test as child processes and waits until they answer. */
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dir, '..', '..');

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<number>;
}

export async function startTarget(
  name: string,
  argv: readonly string[],
  opts: { url: string; readyPath: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Target> {
  const proc = Bun.spawn([...argv], {
    cwd: REPO,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode} before it was ready`);
    try {
      if ((await fetch(`${opts.url}${opts.readyPath}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} was not ready at ${opts.url}${opts.readyPath} in time`);
    }
    await Bun.sleep(100);
  }
  return {
    name,
    url: opts.url,
    pid: proc.pid,
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
