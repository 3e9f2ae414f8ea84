/**
 * Scenario 3: a steady 5,000 req/s for 60 s with both consumers running. Measures end-to-end
 * freshness into Postgres and ClickHouse over the scenario's own rows, and the time for both
 * consumer groups' lag to return to zero after the load stops.
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { measureOha } from '../lib/measure.ts';
import type { FreshnessResult, LagDrainResult, ScenarioResult, SystemRun } from '../lib/results.ts';
import { computeRatios } from '../lib/results.ts';
import { LagTracker } from '../lib/lag.ts';
import { clickhouseFreshness, consumerFreshnessHistogram, postgresFreshness } from '../lib/stores.ts';
import { startSystem } from '../lib/systems.ts';

export const STEADY_RPS = 5_000;
export const STEADY_CONNECTIONS = 64;

export const steadyScenario: Scenario = {
  id: 'steady',
  title: 'Steady 5,000 req/s with both consumers',
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const runs: SystemRun[] = [];
    let freshness: FreshnessResult | undefined;
    let lagDrain: LagDrainResult | undefined;
    const notes: string[] = [];
    for (const system of ctx.systems) {
      const running = await startSystem(ctx, system, 'steady', { consumers: true });
      try {
        if (system !== 'api') {
          runs.push(await measureOha(ctx, running, { connections: STEADY_CONNECTIONS, qps: STEADY_RPS, durationS: ctx.durations.steadyS }));
          continue;
        }
        const { stores, pipeline } = running;
        if (!stores || !pipeline) throw new Error('the API runs with its pipeline');
        const tracker = LagTracker.forTopic(ctx.admin, stores.names.topic, { postgres: stores.names.pgGroup, clickhouse: stores.names.chGroup });
        let loadStartMs = 0;
        let drain: Omit<LagDrainResult, 'apiSaid'> | undefined;
        const run = await measureOha(
          ctx,
          running,
          { connections: STEADY_CONNECTIONS, qps: STEADY_RPS, durationS: ctx.durations.steadyS },
          {
            onLoadStart: () => {
              loadStartMs = Date.now();
              tracker.startDuringLoad();
            },
            afterLoad: async () => {
              drain = await tracker.drain(ctx.durations.drainDeadlineS * 1000, ctx.durations.steadyS * 1000);
              ctx.log(`lag back to zero: Postgres ${drain.postgresMs} ms, ClickHouse ${drain.clickhouseMs} ms after the load`);
            },
          },
        );
        runs.push(run);
        let apiSaid: unknown;
        try {
          const res = await fetch(`${running.url}/analytics/consumer-lag`, { headers: { authorization: `Bearer ${ctx.apiKey}` }, signal: AbortSignal.timeout(10_000) });
          apiSaid = { status: res.status, body: await res.json() };
        } catch (error) {
          apiSaid = { error: String(error) };
        }
        lagDrain = { ...drain!, apiSaid };
        const [pgHist, chHist] = await Promise.all(pipeline.consumers.map((c) => consumerFreshnessHistogram(c.url)));
        const pgF = await postgresFreshness(ctx.pgAdmin, stores.names.store, loadStartMs);
        const chF = await clickhouseFreshness(ctx.ch, stores.names.store, loadStartMs);
        freshness = {
          postgres: { ...pgF, toCommitP50UpperS: pgHist?.p50 ?? null, toCommitP99UpperS: pgHist?.p99 ?? null },
          clickhouse: { ...chF, toCommitP50UpperS: chHist?.p50 ?? null, toCommitP99UpperS: chHist?.p99 ?? null },
        };
        ctx.log(`freshness p99: Postgres ${pgF.p99Ms} ms over ${pgF.count} rows, ClickHouse ${chF.p99Ms} ms over ${chF.count} events`);
        if (drain?.bothMs === null) notes.push(`consumer lag did not reach zero within ${ctx.durations.drainDeadlineS} s of the load's end`);
        notes.push(
          "API resources include the drain after the load (the consumers' work continues after the last request).",
          "The consumers' to-commit histograms count every event since the consumer started, warm-up included.",
        );
      } finally {
        await running.stop();
      }
    }
    return [
      {
        id: 'steady',
        title: this.title,
        description: `oha -q ${STEADY_RPS} -c ${STEADY_CONNECTIONS} for ${ctx.durations.steadyS} s (latency corrected) with the API and both consumers; baselines at the same rate.`,
        runs,
        ratios: computeRatios(runs),
        ...(freshness ? { freshness } : {}),
        ...(lagDrain ? { lagDrain } : {}),
        notes,
      },
    ];
  },
};
