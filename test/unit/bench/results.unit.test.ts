import { describe, expect, test } from 'bun:test';
import { RESULTS_SCHEMA_VERSION, computeRatios, evaluateGoals, peakLoad } from '../../../bench/lib/results.ts';
import { results, run, scenario } from './fixtures.ts';

describe('computeRatios', () => {
  test('API divided by each baseline that ran: throughput and latency', () => {
    const r = computeRatios([
      run('api', { okRps: 12_000, p50Ms: 5, p99Ms: 20 }),
      run('bare', { okRps: 40_000, p50Ms: 1, p99Ms: 8 }),
      run('sync-pg', { okRps: 1_000, p50Ms: 50, p99Ms: 200 }),
    ]);
    expect(r).toEqual({ bare: { okRps: 0.3, p50: 5, p99: 2.5 }, 'sync-pg': { okRps: 12, p50: 0.1, p99: 0.1 } });
  });

  test('no API run, no ratios; a zero or non-finite baseline gives null, not Infinity', () => {
    expect(computeRatios([run('bare')])).toEqual({});
    expect(computeRatios([run('api'), run('sync-pg', { okRps: 0, p99Ms: Number.NaN })])['sync-pg']).toEqual({ okRps: null, p50: 1, p99: null });
  });
});

describe('evaluateGoals', () => {
  const maxRuns = (api: number, bare: number, sync: number) => [run('api', { okRps: api }), run('bare', { okRps: bare }), run('sync-pg', { okRps: sync })];
  const byId = (goals: ReturnType<typeof evaluateGoals>) => new Map(goals.map((g) => [g.id, g]));

  test('ingest goals take the best closed-loop figure of each system, and say by how much they are missed', () => {
    const g = byId(evaluateGoals([scenario('max-64', maxRuns(9_000, 48_000, 1_000)), scenario('max-256', maxRuns(10_000, 40_000, 900))]));
    const bare = g.get('ingest-vs-bare')!;
    expect(bare.met).toBe(false);
    expect(bare.measured).toBe('0.21x (API 10,000 req/s at max-256, baseline 48,000 req/s at max-64)');
    expect(bare.shortfall).toBe('missed by 0.14x: needs 16,800 req/s, 6,800 more (40% short)');
    const sync = g.get('ingest-vs-sync-pg')!;
    expect(sync.met).toBe(true);
    expect(sync.measured).toStartWith('10x');
  });

  test('paced scenarios do not count as a throughput ceiling', () => {
    const g = byId(evaluateGoals([scenario('seed', maxRuns(333, 333, 333))]));
    expect(g.get('ingest-vs-bare')!.met).toBeNull();
    expect(g.get('ingest-vs-bare')!.measured).toBe('not measured');
  });

  test('any valid request refused in any scenario misses the no-non-2xx goal, naming where', () => {
    const g = byId(evaluateGoals([scenario('seed', [run('api')]), scenario('steady', [run('api', { validNon2xx: 12 })])]));
    expect(g.get('no-non-2xx')).toMatchObject({ met: false, measured: '12 (steady: 12)' });
    const ok = byId(evaluateGoals([scenario('seed', [run('api')]), scenario('steady', [run('api')])]));
    expect(ok.get('no-non-2xx')).toMatchObject({ met: true, measured: '0 in 2 scenarios' });
  });

  test('freshness goals read the steady scenario; API RSS takes the highest peak of any API run', () => {
    const fresh = {
      postgres: { count: 300_000, p50Ms: 300, p99Ms: 1_250, maxMs: 2_000, toCommitP50UpperS: 0.4, toCommitP99UpperS: 1.5 },
      clickhouse: { count: 300_000, deliveries: 300_000, p50Ms: 900, p99Ms: 1_500, maxMs: 1_900, toCommitP50UpperS: 1, toCommitP99UpperS: 2 },
    };
    const g = byId(
      evaluateGoals([scenario('steady', [run('api', { okRps: 5_000 }, 150)], { freshness: fresh }), scenario('max-64', [run('api', {}, 230)])]),
    );
    expect(g.get('freshness-postgres')).toMatchObject({ met: false, shortfall: 'over by 250 ms (25% over)' });
    expect(g.get('freshness-clickhouse')).toMatchObject({ met: true, measured: '1,500 ms (at 5,000 req/s achieved)' });
    expect(g.get('api-rss')).toMatchObject({ met: false, measured: '230 MB (peak in max-64)', shortfall: 'over by 30 MB (15% over)' });
  });

  test('freshness at a rate below 95% of the target misses the goal, whatever the freshness', () => {
    const fresh = {
      postgres: { count: 240_000, p50Ms: 150, p99Ms: 560, maxMs: 900, toCommitP50UpperS: 0.4, toCommitP99UpperS: 1 },
      clickhouse: { count: 240_000, deliveries: 240_000, p50Ms: 500, p99Ms: 2_500, maxMs: 2_600, toCommitP50UpperS: 1, toCommitP99UpperS: 3 },
    };
    const slow = byId(evaluateGoals([scenario('steady', [run('api', { targetRps: 5_000, okRps: 4_034, p50Ms: 8_139 })], { freshness: fresh })]));
    expect(slow.get('freshness-postgres')).toMatchObject({
      met: false,
      measured: '560 ms (at 4,034 req/s achieved)',
      shortfall: 'the API sustained 4,034 of 5,000 req/s (19% short; latency-corrected p50 8,139 ms)',
    });
    expect(slow.get('freshness-clickhouse')!.shortfall).toBe(
      'the API sustained 4,034 of 5,000 req/s (19% short; latency-corrected p50 8,139 ms); over by 500 ms (25% over)',
    );
    const near = byId(evaluateGoals([scenario('steady', [run('api', { targetRps: 5_000, okRps: 4_990 })], { freshness: fresh })]));
    expect(near.get('freshness-postgres')!.met).toBe(true);
  });

  test('peakLoad is the highest 1-minute load average of the run and of every measured run', () => {
    const r = results([scenario('seed', [run('api')]), scenario('max-64', [{ ...run('bare'), loadAvg: { before: [3.5, 1, 1], after: [11.9, 2, 1] } }])]);
    expect(peakLoad(r)).toBe(11.9);
  });

  test('every goal is listed even when nothing measured it', () => {
    const goals = evaluateGoals([]);
    expect(goals.map((g) => g.id)).toEqual([
      'ingest-vs-bare',
      'ingest-vs-sync-pg',
      'no-non-2xx',
      'freshness-postgres',
      'freshness-clickhouse',
      'api-rss',
      'cost-seed-cores',
      'cost-seed-vs-sync-pg',
      'seed-p99',
      'seed-p999',
      'freshness-seed-postgres',
      'freshness-seed-clickhouse',
      'idle-cores',
      'read-model-exact',
    ]);
    expect(goals.every((g) => g.met === null)).toBe(true);
    expect(RESULTS_SCHEMA_VERSION).toBe(1);
  });
});
