/** Scenario 1, the seed's load: 20,000 requests a minute (333 req/s) for 60 s, paced. */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { measureOha } from '../lib/measure.ts';
import { type ScenarioResult, type SystemRun, computeRatios } from '../lib/results.ts';
import { startSystem } from '../lib/systems.ts';

export const SEED_RPS = 333;
export const SEED_CONNECTIONS = 16;

export const seedScenario: Scenario = {
  id: 'seed',
  title: "The seed's load: 333 req/s",
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const runs: SystemRun[] = [];
    for (const system of ctx.systems) {
      const running = await startSystem(ctx, system, 'seed', { consumers: true });
      try {
        runs.push(await measureOha(ctx, running, { connections: SEED_CONNECTIONS, qps: SEED_RPS, durationS: ctx.durations.seedS }));
      } finally {
        await running.stop();
      }
    }
    return [
      {
        id: 'seed',
        title: this.title,
        description: `oha -q ${SEED_RPS} -c ${SEED_CONNECTIONS} for ${ctx.durations.seedS} s (latency corrected), the whole pipeline running (API and both consumers).`,
        runs,
        ratios: computeRatios(runs),
        notes: [],
      },
    ];
  },
};
