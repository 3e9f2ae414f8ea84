/** Small hand-made results for the pure tests of ratios, goals, the report and the chart. */
import type { BenchResults, LoadFigures, ScenarioResult, SystemId, SystemRun } from '../../../bench/lib/results.ts';
import { computeRatios, evaluateGoals } from '../../../bench/lib/results.ts';

export function load(over: Partial<LoadFigures> = {}): LoadFigures {
  return {
    tool: 'oha',
    connections: 64,
    targetRps: null,
    durationS: 30,
    requests: 1000,
    okRequests: 1000,
    rps: 1000,
    okRps: 1000,
    p50Ms: 1,
    p90Ms: 2,
    p99Ms: 4,
    p999Ms: 8,
    maxMs: 10,
    latencyCorrected: false,
    statuses: { '202': 1000 },
    transportErrors: {},
    validNon2xx: 0,
    ...over,
  };
}

export function run(system: SystemId, over: Partial<LoadFigures> = {}, rssMb = 120): SystemRun {
  return {
    system,
    startedAt: '2026-11-28T00:00:00.000Z',
    load: load(over),
    resources: { [system]: { cpuSeconds: 10, peakRssMb: rssMb, peakPssMb: rssMb - 20, processes: 1 }, kafka: { cpuSeconds: 5, peakRssMb: 700, peakPssMb: 690, processes: 1 } },
    loadAvg: { before: [0.5, 0.4, 0.3], after: [1.9, 0.8, 0.4] },
  };
}

export function scenario(id: string, runs: SystemRun[], extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return { id, title: id, description: '', runs, ratios: computeRatios(runs), notes: [], ...extra };
}

export function results(scenarios: ScenarioResult[]): BenchResults {
  return {
    schemaVersion: 1,
    command: 'bun bench/run.ts',
    quick: false,
    startedAt: '2026-11-28T02:00:00.000Z',
    finishedAt: '2026-11-28T02:14:00.000Z',
    machine: { cpus: 2, memGb: 24, os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1', bun: '1.4.5', node: 'v20.20.2', oha: '1.16.0' },
    loadAvg: { before: [0.8, 1.1, 1.2], after: [1.9, 1.7, 1.5] },
    settings: { KAFKA_TOPIC_PARTITIONS: 6 },
    scenarios,
    goals: evaluateGoals(scenarios),
  };
}
