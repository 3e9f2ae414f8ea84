/**
 * Opt-in: the replay benchmarks of issues 4 and 5 (bench/replay-postgres.ts and
 * bench/replay-clickhouse.ts, other engineers' scripts), run as child processes so their
 * figures land in the same results file. Each prints one JSON line; it is kept as is.
 */
import { join } from 'node:path';
import type { BenchContext, Scenario } from '../lib/context.ts';
import type { ScenarioResult } from '../lib/results.ts';
import { REPO } from '../lib/targets.ts';

async function runScript(ctx: BenchContext, script: string, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const proc = Bun.spawn([process.execPath, join(REPO, script), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => proc.kill('SIGTERM'), timeoutMs);
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(timer);
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${script} exited ${code}`);
  ctx.log(`${script}: ${last}`);
  return JSON.parse(last) as Record<string, unknown>;
}

function replayScenario(id: string, script: string, title: string): Scenario {
  return {
    id,
    title,
    optIn: true,
    async run(ctx: BenchContext): Promise<ScenarioResult[]> {
      const args = ctx.quick ? ['--events=100000', '--steady-seconds=10'] : [];
      const extra = await runScript(ctx, script, args, 20 * 60_000);
      return [{ id, title, description: `bun ${script} ${args.join(' ')}`.trim(), runs: [], ratios: {}, extra, notes: [] }];
    },
  };
}

export const replayPostgresScenario = replayScenario('replay-postgres', 'bench/replay-postgres.ts', 'Postgres replay catch-up of 1M events (issue 4)');
export const replayClickhouseScenario = replayScenario('replay-clickhouse', 'bench/replay-clickhouse.ts', 'ClickHouse replay of 1M events (issue 5)');
