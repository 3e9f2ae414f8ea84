/**
 * Scenario 2, maximum throughput: closed loop (as fast as oha can) at fixed connection counts.
 * The consumers are not running: this measures ingest (HTTP + validation + the durable append),
 * and on two cores they would take CPU from it; the steady scenario measures ingest and
 * consumers together.
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { measureOha } from '../lib/measure.ts';
import { type ScenarioResult, type SystemRun, computeRatios } from '../lib/results.ts';
import { startSystem } from '../lib/systems.ts';

export const MAX_CONNECTIONS = [64, 256] as const;

export const maxScenario: Scenario = {
  id: 'max',
  title: 'Maximum throughput',
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const out: ScenarioResult[] = [];
    for (const connections of MAX_CONNECTIONS) {
      const id = `max-${connections}`;
      const runs: SystemRun[] = [];
      for (const system of ctx.systems) {
        const running = await startSystem(ctx, system, id, { consumers: false });
        try {
          runs.push(await measureOha(ctx, running, { connections, durationS: ctx.durations.maxS }));
        } finally {
          await running.stop();
        }
      }
      out.push({
        id,
        title: `Maximum throughput, ${connections} connections`,
        description: `oha -c ${connections} for ${ctx.durations.maxS} s, closed loop; consumers not running.`,
        runs,
        ratios: computeRatios(runs),
        notes: [],
      });
    }
    return out;
  },
};
