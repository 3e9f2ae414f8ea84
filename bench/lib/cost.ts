/**
 * Cost, not only speed (issue 11): CPU per accepted event and share of a core, per process and
 * for the whole of what each system needs to serve a request (the API: itself, both consumers,
 * the broker and both stores; baseline (b): itself and Postgres; (c): itself and the broker;
 * (a): itself). The load tool is never counted. Pure, so it is unit-tested.
 */
import type { ScenarioResult, SystemId, SystemRun } from './results.ts';

/** The process groups each system depends on to do its job (what its total counts). */
export const SYSTEM_PARTS: Readonly<Record<SystemId, readonly string[]>> = {
  api: ['api', 'consumer-postgres', 'consumer-clickhouse', 'kafka', 'postgres', 'clickhouse'],
  bare: ['bare'],
  'sync-pg': ['sync-pg', 'postgres'],
  'node-kafkajs': ['node-kafkajs', 'kafka'],
};

export interface PartCost {
  readonly part: string;
  readonly cpuSeconds: number;
  /** CPU seconds per wall second of the measured window (1 = one whole core). */
  readonly cores: number;
  /** CPU milliseconds per accepted event; null when no event was accepted (idle). */
  readonly msPerEvent: number | null;
}

export interface RunCost {
  readonly system: SystemId;
  readonly acceptedEvents: number;
  readonly windowS: number;
  readonly parts: readonly PartCost[];
  readonly total: Omit<PartCost, 'part'>;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The measured window: the load's duration, or, when the run records it (runs with a drain after
 * the load), the watch's own length. The accepted events are the load's 2xx answers.
 */
export function runCost(run: SystemRun): RunCost {
  const windowS = run.windowS ?? run.load.durationS;
  const events = run.load.okRequests;
  const parts: PartCost[] = [];
  for (const part of SYSTEM_PARTS[run.system]) {
    const f = run.resources[part];
    if (!f) continue;
    parts.push({
      part,
      cpuSeconds: f.cpuSeconds,
      cores: windowS > 0 ? r3(f.cpuSeconds / windowS) : 0,
      msPerEvent: events > 0 ? r3((f.cpuSeconds * 1000) / events) : null,
    });
  }
  const cpu = parts.reduce((a, p) => a + p.cpuSeconds, 0);
  return {
    system: run.system,
    acceptedEvents: events,
    windowS,
    parts,
    total: { cpuSeconds: Math.round(cpu * 100) / 100, cores: windowS > 0 ? r3(cpu / windowS) : 0, msPerEvent: events > 0 ? r3((cpu * 1000) / events) : null },
  };
}

export interface CurvePoint {
  /** 'idle', a paced rate, or 'max' (closed loop). */
  readonly offered: 'idle' | number | 'max';
  readonly scenario: string;
  readonly system: SystemId;
  readonly okRps: number;
  readonly cores: number;
  readonly msPerEvent: number | null;
  readonly p99Ms: number | null;
}

/** The offered rate a scenario of the cost curve stands for: `idle`, `cost-<rate>`, `cost-max`. */
export function offeredOf(id: string): CurvePoint['offered'] | undefined {
  if (id === 'idle') return 'idle';
  const m = /^cost-(\d+|max)$/.exec(id);
  if (!m) return undefined;
  return m[1] === 'max' ? 'max' : Number(m[1]);
}

/** Every point of the cost curve present in the scenarios, in order of offered rate. */
export function costCurve(scenarios: readonly ScenarioResult[]): CurvePoint[] {
  const rank = (o: CurvePoint['offered']) => (o === 'idle' ? -1 : o === 'max' ? Number.MAX_SAFE_INTEGER : o);
  const out: CurvePoint[] = [];
  for (const s of scenarios) {
    const offered = offeredOf(s.id);
    if (offered === undefined) continue;
    for (const r of s.runs) {
      const c = runCost(r);
      out.push({
        offered,
        scenario: s.id,
        system: r.system,
        okRps: r.load.okRps,
        cores: c.total.cores,
        msPerEvent: c.total.msPerEvent,
        p99Ms: offered === 'idle' ? null : r.load.p99Ms,
      });
    }
  }
  return out.sort((a, b) => rank(a.offered) - rank(b.offered));
}
