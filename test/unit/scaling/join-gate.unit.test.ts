/**
 * The join gate (src/kernel/join-gate.ts): consumer instances started together wait for each
 * other before joining their group. Real files and, for the supervisor, real child processes that
 * play the consumer's part (boot, mark warm, wait at the gate, record when they passed it).
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeJoinGate, openJoinGateWhenWarm, waitAtJoinGate, warmAtJoinGate } from '../../../src/kernel/join-gate.ts';
import { Supervisor } from '../../../stack/supervisor.ts';

const quiet = { info: () => {}, warn: () => {} };

function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'gate-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('join gate files', () => {
  test('an instance marks itself warm and passes once the gate opens', () =>
    withDir(async (dir) => {
      const gate = join(dir, 'join-x');
      const waiting = waitAtJoinGate(gate, 10_000, 111);
      expect(warmAtJoinGate(gate)).toBe(1);
      const opened = openJoinGateWhenWarm(gate, 1, 10_000);
      expect(await opened).toBe(1);
      expect(await waiting).toBe(true);
      expect(warmAtJoinGate(gate)).toBe(0); // it removed its mark on the way through
      await closeJoinGate(gate, 1_000);
      expect(readdirSync(dir)).toEqual([]);
    }));

  test('an instance whose gate never opens joins alone after its deadline', () =>
    withDir(async (dir) => {
      expect(await waitAtJoinGate(join(dir, 'join-y'), 100, 222)).toBe(false);
    }));

  test('the supervisor opens the gate when one of the new instances will never be warm', () =>
    withDir(async (dir) => {
      const gate = join(dir, 'join-z');
      void waitAtJoinGate(gate, 5_000, 333);
      expect(await openJoinGateWhenWarm(gate, 2, 60_000, () => true)).toBe(1);
      expect(existsSync(gate)).toBe(true);
    }));

  test('marks of another gate in the same folder are not counted', () =>
    withDir(async (dir) => {
      void waitAtJoinGate(join(dir, 'join-a'), 200, 1);
      expect(warmAtJoinGate(join(dir, 'join-b'))).toBe(0);
      await Bun.sleep(250);
    }));
});

test('Supervisor.scaleGroups with a gate: instances that finish booting at different times pass the gate together', () =>
  withDir(async (dir) => {
    const gateModule = resolve(import.meta.dir, '../../../src/kernel/join-gate.ts');
    // A consumer's part: boot for BOOT_MS, mark warm and wait at the gate, record both moments.
    const script = join(dir, 'member.ts');
    await Bun.write(
      script,
      `import { waitAtJoinGate } from ${JSON.stringify(gateModule)};
       await Bun.sleep(Number(process.env.BOOT_MS));
       const warmAt = Date.now();
       const opened = await waitAtJoinGate(process.env.CONSUMER_JOIN_GATE, 20_000);
       await Bun.write(process.env.OUT, JSON.stringify({ warmAt, passedAt: Date.now(), opened }));
       await Bun.sleep(60_000);`,
    );
    const supervisor = new Supervisor({ log: quiet, output: 'file' });
    const spec = (group: string, bootMs: number) => (i: number) => ({
      name: `${group}-${i}`,
      group,
      argv: [process.execPath, script],
      cwd: dir,
      env: { PATH: process.env.PATH, BOOT_MS: String(bootMs * (i + 1)), OUT: join(dir, `${group}-${i}.json`) },
      logFile: join(dir, `${group}-${i}.log`),
    });
    try {
      await supervisor.scaleGroups(
        [
          { group: 'fast', count: 1, make: spec('fast', 50) },
          { group: 'slow', count: 2, make: spec('slow', 400) },
        ],
        30_000,
        { joinGate: dir },
      );
      const out = (name: string) => join(dir, `${name}.json`);
      const deadline = Date.now() + 10_000;
      while (!['fast-0', 'slow-0', 'slow-1'].every((n) => existsSync(out(n))) && Date.now() < deadline) await Bun.sleep(50);
      const runs = ['fast-0', 'slow-0', 'slow-1'].map((n) => JSON.parse(readFileSync(out(n), 'utf8')) as { warmAt: number; passedAt: number; opened: boolean });
      const lastWarm = Math.max(...runs.map((r) => r.warmAt));
      for (const r of runs) {
        expect(r.opened).toBe(true);
        expect(r.passedAt).toBeGreaterThanOrEqual(lastWarm); // nobody joined before the slowest had booted
      }
      // A restart is not gated again, and the gate's files are gone.
      expect(supervisor.spec('slow-1')?.env.CONSUMER_JOIN_GATE).toBeUndefined();
      expect(readdirSync(dir).filter((f) => f.startsWith('join-'))).toEqual([]);
    } finally {
      await supervisor.stopAll();
    }
  }), 30_000);
