/**
 * Scenario 4: realistic traffic from the bounded load generator (distinct sessions, Zipf-skewed
 * users, retries with the same Idempotency-Key, invalid bodies, a few batches), with both
 * consumers running. When both consumer groups have caught up, the read models must count
 * exactly the distinct events the API accepted: Postgres rows and user_stats, ClickHouse
 * uniqExact(event_id). Any difference is reported as a problem, loudly.
 */
import type { BenchContext, Scenario } from '../lib/context.ts';
import { compareReadModels } from '../lib/exactness.ts';
import { measureLoadgen } from '../lib/measure.ts';
import type { ExactnessResult, ScenarioResult, SystemRun } from '../lib/results.ts';
import { computeRatios } from '../lib/results.ts';
import { LagTracker } from '../lib/lag.ts';
import { readModelSnapshot } from '../lib/stores.ts';
import { startSystem } from '../lib/systems.ts';
import { DEFAULT_MIX, createTraffic } from '../lib/traffic.ts';

export const REALISTIC_USERS = 20_000;
export const REALISTIC_ZIPF_S = 1.1;
export const REALISTIC_SEED = 20261128;

export const realisticScenario: Scenario = {
  id: 'realistic',
  title: 'Realistic traffic, then an exact count of the read models',
  async run(ctx: BenchContext): Promise<ScenarioResult[]> {
    const runs: SystemRun[] = [];
    let exactness: ExactnessResult | undefined;
    const notes: string[] = [];
    const spec = { ratePerSec: ctx.realisticRate, concurrency: ctx.realisticConcurrency, durationS: ctx.durations.realisticS };
    for (const system of ctx.systems) {
      // The same seeded traffic for every system.
      const traffic = createTraffic({ seed: REALISTIC_SEED, users: REALISTIC_USERS, zipfS: REALISTIC_ZIPF_S, idPrefix: `${ctx.runTag}-`, now: Date.now });
      const running = await startSystem(ctx, system, 'realistic', { consumers: true });
      try {
        if (system !== 'api') {
          runs.push((await measureLoadgen(ctx, running, spec, traffic)).run);
          continue;
        }
        const { stores } = running;
        if (!stores) throw new Error('the API runs with its pipeline');
        const tracker = LagTracker.forTopic(ctx.admin, stores.names.topic, { postgres: stores.names.pgGroup, clickhouse: stores.names.chGroup });
        const { run, analysis } = await measureLoadgen(ctx, running, spec, traffic, { onLoadStart: () => tracker.startDuringLoad() });
        runs.push(run);
        const drain = await tracker.drain(ctx.durations.drainDeadlineS * 1000);
        if (drain.bothMs === null) notes.push(`consumer lag did not reach zero within ${ctx.durations.drainDeadlineS} s: the exact count below compares an unfinished read model`);
        const snapshot = await readModelSnapshot(ctx.pgAdmin, ctx.ch, stores.names.store);
        exactness = compareReadModels(analysis, snapshot);
        if (exactness.ok) ctx.log(`read models exact: ${exactness.acceptedEvents} accepted events in Postgres and ClickHouse`);
        else {
          ctx.log('!!!!!!!! READ MODEL MISMATCH !!!!!!!!');
          for (const p of exactness.problems) ctx.log(`!!! ${p}`);
        }
      } finally {
        await running.stop();
      }
    }
    const m = DEFAULT_MIX;
    notes.push(
      `traffic: ${REALISTIC_USERS} users, Zipf s=${REALISTIC_ZIPF_S}; ${m.retryShare * 100}% retries (same Idempotency-Key), ${m.invalidShare * 100}% invalid bodies (422 expected, counted as correct), ` +
        `${m.batchShare * 100}% batches of ${m.batchSize} (${m.batchInvalidShare * 100}% invalid items); ok req/s counts answers that are right for the request.`,
      "bare answers 202 to everything (it validates nothing), so its correct count treats any 2xx as right; the load-tool row is the bench process itself (load generator and bookkeeping).",
    );
    return [
      {
        id: 'realistic',
        title: this.title,
        description: `bench/lib/loadgen.ts at ${spec.ratePerSec} req/s with ${spec.concurrency} loops for ${spec.durationS} s (after ${ctx.durations.warmupS} s of warm-up whose answers also count for the read model).`,
        runs,
        ratios: computeRatios(runs),
        ...(exactness ? { exactness } : {}),
        notes,
      },
    ];
  },
};
