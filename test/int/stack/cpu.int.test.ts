/**
 * `npm run cpu` (scripts/system.ts cpu) against the running native stack, as a user runs it: one
 * line per server with its share of a core, a total that is their sum, the host's steal; and a
 * clear refusal of a bad window.
 */
import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { repoRoot } from '../../support/process.ts';

async function cpu(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, join(repoRoot, 'scripts/system.ts'), 'cpu', ...args], {
    cwd: repoRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

test('reports each server\'s share of a core over the window, and a total that adds them up', async () => {
  const { code, stdout, stderr } = await cpu(['--seconds=2']);
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  const rows = new Map(
    stdout
      .split('\n')
      .map((line) => /^(\S+)\s+(\d+)?\s*(\d+\.\d{4})$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1] ?? '', Number(m[3])]),
  );
  for (const server of ['kafka', 'postgres', 'clickhouse']) {
    expect(rows.get(server)).toBeGreaterThanOrEqual(0);
    expect(rows.get(server)).toBeLessThan(4); // a share of this machine's cores, not CPU seconds
  }
  const total = rows.get('total') ?? Number.NaN;
  const parts = [...rows].filter(([name]) => name !== 'total').reduce((sum, [, share]) => sum + share, 0);
  expect(Math.abs(total - parts)).toBeLessThan(0.0005 * rows.size);
  expect(stdout).toMatch(/host steal meanwhile: \d+\.\d{3} core/);
}, 30_000);

test('a window out of range is refused with a message naming the flag', async () => {
  const { code, stderr, stdout } = await cpu(['--seconds=0']);
  expect(code).not.toBe(0);
  expect(`${stdout}${stderr}`).toContain('--seconds must be between 1 and 3600');
}, 30_000);
