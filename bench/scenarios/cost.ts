/**
 * Issue 11's cost curve: CPU per accepted event and p99 against the offered rate (100, 333,
 * 1,000, 5,000 req/s paced, then closed loop), the API with both consumers running, and each
 * baseline at the same rates. Each system is started once and taken up the rates in order; the
 * idle point comes from the `idle` scenario. The API's consumers are given a few seconds between
 * points to finish the previous one's events, so each point's CPU is mostly its own.
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { measureOha } from '../lib/measure.ts';
import { type ScenarioResult, type SystemRun, computeRatios } from '../lib/results.ts';
import { startSystem } from '../lib/systems.ts';

export const COST_RATES = [100, 333, 1_000, 5_000, 'max'] as const;
export const COST_CONNECTIONS = 16;
export const COST_MAX_CONNECTIONS = 64;

export const costScenario: Scenario = {
  id: 'cost',
  title: 'Cost curve: CPU per event and p99 against offered rate',
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const byRate = new Map<string, SystemRun[]>(COST_RATES.map((r) => [String(r), []]));
    for (const system of ctx.systems) {
      const running = await startSystem(ctx, system, 'cost', { consumers: true });
      try {
        for (const rate of COST_RATES) {
          const spec =
            rate === 'max'
              ? { connections: COST_MAX_CONNECTIONS, durationS: ctx.durations.costS }
              : { connections: rate >= 5_000 ? 64 : COST_CONNECTIONS, qps: rate, durationS: ctx.durations.costS };
          byRate.get(String(rate))!.push(await measureOha(ctx, running, spec));
          if (system === 'api') await Bun.sleep(3_000);
        }
      } finally {
        await running.stop();
      }
    }
    return COST_RATES.map((rate) => {
      const runs = byRate.get(String(rate))!;
      return {
        id: `cost-${rate}`,
        title: rate === 'max' ? 'Cost at maximum throughput (consumers running)' : `Cost at ${rate.toLocaleString('en-US')} req/s`,
        description:
          rate === 'max'
            ? `oha -c ${COST_MAX_CONNECTIONS} closed loop for ${ctx.durations.costS} s, consumers running.`
            : `oha -q ${rate} -c ${rate >= 5_000 ? 64 : COST_CONNECTIONS} for ${ctx.durations.costS} s (latency corrected), consumers running.`,
        runs,
        ratios: computeRatios(runs),
        notes: [],
      };
    });
  },
};
