/**
 * Opt-in: issue 3's figure, p99 at a paced 25,000 req/s (the API and the bare ceiling), so one
 * command gives every number the write path's issue asks for.
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { measureOha } from '../lib/measure.ts';
import { type ScenarioResult, type SystemRun, computeRatios } from '../lib/results.ts';
import { startSystem } from '../lib/systems.ts';

export const paced25kScenario: Scenario = {
  id: 'paced-25k',
  title: 'Paced 25,000 req/s (issue 3)',
  optIn: true,
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const runs: SystemRun[] = [];
    for (const system of ctx.systems.filter((s) => s === 'api' || s === 'bare')) {
      const running = await startSystem(ctx, system, 'paced-25k', { consumers: false });
      try {
        runs.push(await measureOha(ctx, running, { connections: 256, qps: 25_000, durationS: ctx.durations.paced25kS }));
      } finally {
        await running.stop();
      }
    }
    return [
      {
        id: 'paced-25k',
        title: this.title,
        description: `oha -q 25000 -c 256 for ${ctx.durations.paced25kS} s (latency corrected), consumers not running.`,
        runs,
        ratios: computeRatios(runs),
        notes: [],
      },
    ];
  },
};
