import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../stack/paths.ts';
import { BACKOFF_MAX_MS, BACKOFF_START_MS, restartDelayMs, Supervisor } from '../../../stack/supervisor.ts';
import { canRaisePriorityTo } from '../../../src/kernel/start-priority.ts';

const quiet = { info: () => {}, warn: () => {} };

describe('restart backoff', () => {
  test('doubles from 0.5 s and stops at 30 s', () => {
    expect([1, 2, 3, 4].map(restartDelayMs)).toEqual([500, 1_000, 2_000, 4_000]);
    expect(restartDelayMs(1)).toBe(BACKOFF_START_MS);
    expect(restartDelayMs(20)).toBe(BACKOFF_MAX_MS);
  });
});

describe('Supervisor (real child processes)', () => {
  test('a SIGKILLed process is started again and the restart is counted; a removed one is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    const supervisor = new Supervisor({ log: quiet, output: 'file' });
    try {
      const spec = { name: 'sleeper-0', group: 'sleeper', argv: ['sleep', '60'], cwd: dir, env: { PATH: process.env.PATH }, logFile: join(dir, 'sleeper.log') };
      supervisor.add(spec);
      await supervisor.waitReady('sleeper-0', 5_000);
      const first = supervisor.pid('sleeper-0');
      expect(first).toBeNumber();
      supervisor.kill9('sleeper-0');
      const deadline = Date.now() + 5_000;
      while ((supervisor.pid('sleeper-0') ?? first) === first && Date.now() < deadline) await Bun.sleep(50);
      const second = supervisor.pid('sleeper-0');
      expect(second).toBeNumber();
      expect(second).not.toBe(first);
      const [status] = supervisor.status();
      expect(status?.restarts).toBe(1);
      expect(status?.lastExit?.signal).toBe('SIGKILL');

      await supervisor.scale('sleeper', 3, (i) => ({ ...spec, name: `sleeper-${i}` }), 5_000);
      expect(supervisor.names('sleeper').sort()).toEqual(['sleeper-0', 'sleeper-1', 'sleeper-2']);
      await supervisor.scale('sleeper', 1, (i) => ({ ...spec, name: `sleeper-${i}` }));
      expect(supervisor.names('sleeper')).toEqual(['sleeper-0']);
      await Bun.sleep(700); // longer than the first backoff: nothing comes back
      expect(supervisor.names('sleeper')).toEqual(['sleeper-0']);
    } finally {
      await supervisor.stopAll();
      expect(supervisor.status()).toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('file output keeps what the process wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    const supervisor = new Supervisor({ log: quiet, output: 'file' });
    try {
      supervisor.add({ name: 'echo-0', group: 'echo', argv: ['sh', '-c', 'echo hello; sleep 60'], cwd: dir, env: { PATH: process.env.PATH }, logFile: join(dir, 'echo.log') });
      const deadline = Date.now() + 5_000;
      while (!readFileSync(join(dir, 'echo.log'), 'utf8').includes('hello') && Date.now() < deadline) await Bun.sleep(50);
      expect(readFileSync(join(dir, 'echo.log'), 'utf8')).toContain('hello');
    } finally {
      await supervisor.stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A child that reports its threads' nice values, takes its priority back as a consumer does, and reports again. */
  const CHILD = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { restoreStartPriority } from '${REPO_ROOT}/src/kernel/start-priority.ts';
    // /proc/<pid>/task/<tid>/stat: the 19th field is the nice value (the 2nd, the name, has no spaces here).
    const nices = () => readdirSync('/proc/self/task').map((t) => Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16]));
    await Bun.sleep(50); // let the runtime start its threads
    const before = nices();
    const raw = process.env.NICE_AFTER_START;
    restoreStartPriority(raw === undefined ? undefined : Number(raw), { info() {}, warn() {} });
    console.log(JSON.stringify({ before, after: nices(), niceAfterStart: raw ?? null }));
    await Bun.sleep(60_000);
  `;

  test('a process started at low priority runs its start at nice 19 and takes the supervisor\'s priority back on every thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    const supervisor = new Supervisor({ log: quiet, output: 'file' });
    const log = join(dir, 'low.log');
    try {
      supervisor.add({ name: 'low-0', group: 'low', argv: [process.execPath, '-e', CHILD], cwd: dir, env: { PATH: process.env.PATH }, logFile: log, startNice: 19 });
      const deadline = Date.now() + 10_000;
      while (!readFileSync(log, 'utf8').includes('"after"') && Date.now() < deadline) await Bun.sleep(50);
      const report = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1) ?? '{}') as { before: number[]; after: number[]; niceAfterStart: string | null };
      expect(report.after.length).toBeGreaterThan(1);
      if (canRaisePriorityTo(0)) {
        // Every thread started at 19, and every one is back at the supervisor's 0.
        expect(new Set(report.before)).toEqual(new Set([19]));
        expect(report.niceAfterStart).toBe('0');
        expect(new Set(report.after)).toEqual(new Set([0]));
      } else {
        // It could not take the priority back: the supervisor started it at normal priority.
        expect(report.niceAfterStart).toBeNull();
        expect(new Set(report.before)).toEqual(new Set([0]));
      }
    } finally {
      await supervisor.stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('low-priority starts can be turned off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sup-'));
    const supervisor = new Supervisor({ log: quiet, output: 'file', lowPriorityStarts: false });
    const log = join(dir, 'off.log');
    try {
      supervisor.add({ name: 'off-0', group: 'off', argv: [process.execPath, '-e', CHILD], cwd: dir, env: { PATH: process.env.PATH }, logFile: log, startNice: 19 });
      const deadline = Date.now() + 10_000;
      while (!readFileSync(log, 'utf8').includes('"after"') && Date.now() < deadline) await Bun.sleep(50);
      const report = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1) ?? '{}') as { before: number[]; niceAfterStart: string | null };
      expect(report.niceAfterStart).toBeNull();
      expect(new Set(report.before)).toEqual(new Set([0]));
    } finally {
      await supervisor.stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
