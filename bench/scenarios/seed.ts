/**
 * Scenario 1, the seed's load: 20,000 requests a minute (333 req/s) for 60 s, paced, the whole
 * pipeline running. For the API it also reports freshness into each store over the run's rows
 * (issue 11: the freshness goals must hold at ordinary load too), measured once both consumer
 * groups have caught up (the wait is outside the resource watch).
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { LagTracker } from '../lib/lag.ts';
import { measureOha } from '../lib/measure.ts';
import { type FreshnessResult, type ScenarioResult, type SystemRun, computeRatios } from '../lib/results.ts';
import { clickhouseFreshness, postgresFreshness } from '../lib/stores.ts';
import { startSystem } from '../lib/systems.ts';

export const SEED_RPS = 333;
export const SEED_CONNECTIONS = 16;

export const seedScenario: Scenario = {
  id: 'seed',
  title: "The seed's load: 333 req/s",
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const runs: SystemRun[] = [];
    let freshness: FreshnessResult | undefined;
    const notes: string[] = [];
    for (const system of ctx.systems) {
      const running = await startSystem(ctx, system, 'seed', { consumers: true });
      try {
        let loadStartMs = 0;
        runs.push(
          await measureOha(ctx, running, { connections: SEED_CONNECTIONS, qps: SEED_RPS, durationS: ctx.durations.seedS, warmupS: ctx.durations.seedWarmupS, timelineWindowS: 10 }, { onLoadStart: () => void (loadStartMs = Date.now()) }),
        );
        const { stores } = running;
        if (system === 'api' && stores) {
          const tracker = LagTracker.forTopic(ctx.admin, stores.names.topic, { postgres: stores.names.pgGroup, clickhouse: stores.names.chGroup });
          const drain = await tracker.drain(ctx.durations.drainDeadlineS * 1000);
          if (drain.bothMs === null) notes.push(`consumer lag did not reach zero within ${ctx.durations.drainDeadlineS} s: freshness is over the rows that landed`);
          const pgF = await postgresFreshness(ctx.pgAdmin, stores.names.store, loadStartMs);
          const chF = await clickhouseFreshness(ctx.ch, stores.names.store, loadStartMs);
          freshness = {
            postgres: { ...pgF, toCommitP50UpperS: null, toCommitP99UpperS: null },
            clickhouse: { ...chF, toCommitP50UpperS: null, toCommitP99UpperS: null },
          };
          ctx.log(`seed freshness p99: Postgres ${pgF.p99Ms} ms over ${pgF.count} rows, ClickHouse ${chF.p99Ms} ms over ${chF.count} events`);
        }
      } finally {
        await running.stop();
      }
    }
    return [
      {
        id: 'seed',
        title: this.title,
        description: `oha -q ${SEED_RPS} -c ${SEED_CONNECTIONS} for ${ctx.durations.seedS} s (latency corrected) after ${ctx.durations.seedWarmupS} s of the same load on the freshly started system (its latency by window is reported too), the whole pipeline running (API and both consumers).`,
        runs,
        ratios: computeRatios(runs),
        ...(freshness ? { freshness } : {}),
        notes,
      },
    ];
  },
};
