/**
 * Issue 11's idle figure: each system started and ready (the API with both consumers, on its
 * own topic, groups and stores), no traffic, CPU of every process and of the stack over
 * `idleS`. What it shows is the cost of timers, poll loops, heartbeats and the broker's own
 * background work. (`npm run up` leaves no supervisor process behind: its servers and app
 * processes are detached, so they are all here.)
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { IDLE_SETTLE_S, measureIdle } from '../lib/measure.ts';
import type { ScenarioResult, SystemRun } from '../lib/results.ts';
import { startSystem } from '../lib/systems.ts';

export const idleScenario: Scenario = {
  id: 'idle',
  title: 'Idle: no traffic',
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const runs: SystemRun[] = [];
    for (const system of ctx.systems) {
      const running = await startSystem(ctx, system, 'idle', { consumers: true });
      try {
        runs.push(await measureIdle(ctx, running, ctx.durations.idleS));
      } finally {
        await running.stop();
      }
    }
    return [
      {
        id: 'idle',
        title: this.title,
        description: `no requests for ${ctx.durations.idleS} s after a ${IDLE_SETTLE_S} s settle; the API with both consumers; CPU of every process and of the stack.`,
        runs,
        ratios: {},
        notes: [],
      },
    ];
  },
};
