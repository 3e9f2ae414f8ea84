/**
 * One measured run of one system: warm it up, watch its processes and the stack, put the load
 * on, and turn what the load tool saw into the result's figures.
 */
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './context.ts';
import { runCost } from './cost.ts';
import { type AnswerAnalysis, type RealisticPlan, analyzeAnswers } from './exactness.ts';
import { runLoadgen, type Sent } from './loadgen.ts';
import { type LoadSpec, readRequestsDb, runOha } from './oha.ts';
import { ResourceMonitor, ThreadWatch } from './proc.ts';
import type { ApiInternals, LoadAvg, LoadFigures, SystemRun } from './results.ts';
import { apiInternals } from './stores.ts';
import { type LatencyWindow, latencyWindows, summarizeLatencies } from './stats.ts';
import type { RunningSystem } from './systems.ts';
import type { Traffic } from './traffic.ts';

const loadAvgNow = (): LoadAvg => {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [Math.round(a * 100) / 100, Math.round(b * 100) / 100, Math.round(c * 100) / 100];
};

export interface OhaRunSpec {
  readonly connections: number;
  readonly durationS: number;
  /** Paced rate; omitted = closed loop (as fast as possible). */
  readonly qps?: number;
  /** Also report latency by window of this many seconds (oha writes each request to SQLite). */
  readonly timelineWindowS?: number;
  /** Unmeasured warm-up before the run, seconds (default: the durations' warmupS). */
  readonly warmupS?: number;
}

export interface Hooks {
  /** Right before the measured load starts. */
  readonly onLoadStart?: () => void;
  /** Right after it ends, before the resource watch stops (e.g. waiting for consumers to drain). */
  readonly afterLoad?: () => Promise<void>;
}

/** The oha request of every system: the write route, a fresh session id per request, random bodies. */
export function ohaRequest(ctx: BenchContext, url: string): Omit<LoadSpec, 'connections' | 'durationS'> {
  return {
    url: `${url}/sessions/bench-[a-z0-9]{16}/complete`,
    urlRegex: true,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
    bodyLinesFile: ctx.bodiesFile,
    timeoutS: 30,
  };
}

export async function measureOha(ctx: BenchContext, running: RunningSystem, spec: OhaRunSpec, hooks: Hooks = {}): Promise<SystemRun> {
  const request = ohaRequest(ctx, running.url);
  const paced = spec.qps !== undefined;
  // Warm-up (JIT, connection pools, producer metadata): same shape, not measured. With a timeline,
  // its latency by window is kept too (`warmupTimeline`): what a freshly started system answers.
  const warmupDb = spec.timelineWindowS ? requestsDbPath(ctx, running, 'warmup') : undefined;
  await runOha(ctx.oha, {
    ...request,
    connections: spec.connections,
    durationS: spec.warmupS ?? ctx.durations.warmupS,
    ...(paced ? { qps: spec.qps, latencyCorrection: true } : {}),
    ...(warmupDb ? { requestsDb: warmupDb } : {}),
  });
  const warmupTimeline = warmupDb && spec.timelineWindowS ? timelineOf(warmupDb, spec.timelineWindowS) : undefined;
  const before = loadAvgNow();
  const startedAt = new Date().toISOString();
  const monitor = new ResourceMonitor(running.groups, 250, spec.timelineWindowS ? spec.timelineWindowS * 1000 : undefined);
  const threads = brokerThreadWatch(running);
  const t0 = performance.now();
  monitor.start();
  threads?.start();
  hooks.onLoadStart?.();
  const requestsDb = spec.timelineWindowS ? requestsDbPath(ctx, running, 'requests') : undefined;
  const r = await runOha(ctx.oha, {
    ...request,
    connections: spec.connections,
    durationS: spec.durationS,
    ...(paced ? { qps: spec.qps, latencyCorrection: true } : {}),
    ...(requestsDb ? { requestsDb } : {}),
    onSpawn: (pid) => monitor.add({ name: 'load-tool', pid }),
  });
  await hooks.afterLoad?.();
  const resources = monitor.stop();
  const brokerThreads = threads?.stop();
  const windowS = Math.round((performance.now() - t0) / 10) / 100;
  const internals = running.system === 'api' ? await apiInternals(running.url) : undefined;
  const transport = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const load: LoadFigures = {
    tool: 'oha',
    connections: spec.connections,
    targetRps: spec.qps ?? null,
    durationS: spec.durationS,
    requests: r.requests,
    okRequests: r.requests - r.non2xx,
    rps: r.rps,
    okRps: r.okRps,
    p50Ms: r.p50Ms,
    p90Ms: r.p90Ms,
    p99Ms: r.p99Ms,
    p999Ms: r.p999Ms,
    maxMs: r.maxMs,
    latencyCorrected: paced,
    statuses: r.statuses,
    transportErrors: r.errors,
    // Every oha request is valid: any non-2xx answer or transport error is a refusal.
    validNon2xx: r.non2xx + transport,
    ...(requestsDb && spec.timelineWindowS ? { timeline: timelineOf(requestsDb, spec.timelineWindowS) } : {}),
    ...(warmupTimeline ? { warmupTimeline } : {}),
  };
  if (load.warmupTimeline) ctx.log(`${running.system.padEnd(12)} warm-up p99 by ${spec.timelineWindowS} s: ${windowsText(load.warmupTimeline)}`);
  if (load.timeline) {
    ctx.log(`${running.system.padEnd(12)} p99 by ${spec.timelineWindowS} s: ${windowsText(load.timeline)}`);
    const cpu = Object.entries(resources).filter(([, f]) => f.cpuByWindow);
    ctx.log(`${running.system.padEnd(12)} CPU s by ${spec.timelineWindowS} s: ${cpu.map(([name, f]) => `${name} ${f.cpuByWindow!.join('/')}`).join('; ')}`);
  }
  ctx.log(
    `${running.system.padEnd(12)} c=${spec.connections}${paced ? ` q=${spec.qps}` : ' max'} ${spec.durationS}s: ok ${r.okRps} req/s, ` +
      `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, p99.9 ${r.p999Ms} ms, non-2xx ${r.non2xx}, transport errors ${transport}`,
  );
  const out: SystemRun = { system: running.system, startedAt, load, ...withInternals(internals), resources, windowS, ...(brokerThreads ? { brokerThreads } : {}), loadAvg: { before, after: loadAvgNow() } };
  const cost = runCost(out);
  ctx.log(
    `${running.system.padEnd(12)} cost: ${cost.total.msPerEvent ?? 'n/a'} CPU ms/event, ${cost.total.cores} cores in all ` +
      `(${cost.parts.map((p) => `${p.part} ${p.cores}`).join(', ')}); load ${out.loadAvg.after[0]}`,
  );
  return out;
}

/** Systems that use the broker get its CPU by thread (the API's pipeline, node-kafkajs). */
function brokerThreadWatch(running: RunningSystem): ThreadWatch | undefined {
  if (running.system !== 'api' && running.system !== 'node-kafkajs') return undefined;
  const kafka = running.groups.find((g) => g.name === 'kafka');
  return kafka ? new ThreadWatch(kafka.pid) : undefined;
}

const requestsDbPath = (ctx: BenchContext, running: RunningSystem, kind: string) => join(ctx.logDir, `${kind}-${running.system}-${Date.now()}.db`);
const windowsText = (t: readonly LatencyWindow[]) => `${t.map((w) => `${w.fromS}s ${w.p99Ms}`).join(', ')} ms`;

function timelineOf(requestsDb: string, windowS: number): LatencyWindow[] {
  try {
    return latencyWindows(readRequestsDb(requestsDb), windowS);
  } finally {
    rmSync(requestsDb, { force: true });
  }
}

const withInternals = (i: ApiInternals | undefined) => (i ? { apiInternals: i } : {});

export interface LoadgenRunSpec {
  readonly ratePerSec: number;
  readonly concurrency: number;
  readonly durationS: number;
}

export async function measureLoadgen(
  ctx: BenchContext,
  running: RunningSystem,
  spec: LoadgenRunSpec,
  traffic: Traffic,
  hooks: Hooks = {},
): Promise<{ run: SystemRun; sent: ReadonlyArray<Sent<RealisticPlan>>; analysis: AnswerAnalysis }> {
  const before = loadAvgNow();
  const startedAt = new Date().toISOString();
  // The load generator runs inside this (the bench) process: its group is this process.
  const monitor = new ResourceMonitor([...running.groups, { name: 'load-tool', pid: process.pid }]);
  monitor.start();
  hooks.onLoadStart?.();
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const result = await runLoadgen({
    baseUrl: running.url,
    concurrency: spec.concurrency,
    ratePerSec: spec.ratePerSec,
    durationMs: spec.durationS * 1000,
    warmupMs: ctx.durations.warmupS * 1000,
    requestTimeoutMs: 10_000,
    next: () => {
      const p = traffic.next();
      return { ...p, headers: { ...p.headers, ...auth } };
    },
  });
  await hooks.afterLoad?.();
  const resources = monitor.stop();
  const internals = running.system === 'api' ? await apiInternals(running.url) : undefined;
  // Ids of warm-up answers count for the read model; latency and rates are over the measured part.
  const analysis = analyzeAnswers(result.sent, running.system !== 'bare');
  const measured = result.sent.filter((s) => !s.warmup);
  const measuredAnalysis = analyzeAnswers(measured, running.system !== 'bare');
  const lat = summarizeLatencies(measured.map((s) => s.latencyMs));
  const seconds = Math.max(result.measuredSeconds, spec.durationS);
  const load: LoadFigures = {
    tool: 'loadgen',
    connections: spec.concurrency,
    targetRps: spec.ratePerSec,
    durationS: spec.durationS,
    requests: measured.filter((s) => s.status !== 0).length,
    okRequests: measuredAnalysis.correct,
    rps: Math.round(measured.length / seconds),
    okRps: Math.round(measuredAnalysis.correct / seconds),
    p50Ms: lat.p50Ms,
    p90Ms: lat.p90Ms,
    p99Ms: lat.p99Ms,
    p999Ms: lat.p999Ms,
    maxMs: lat.maxMs,
    latencyCorrected: true,
    statuses: measuredAnalysis.statuses,
    transportErrors: measuredAnalysis.transportErrors,
    validNon2xx: analysis.validNon2xx,
  };
  ctx.log(
    `${running.system.padEnd(12)} loadgen ${spec.ratePerSec}/s x${spec.concurrency} ${spec.durationS}s: correct ${load.okRps} req/s, ` +
      `p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, valid refused ${analysis.validNon2xx}, missed slots ${result.missedSlots}, statuses ${JSON.stringify(measuredAnalysis.statuses)}`,
  );
  return {
    run: { system: running.system, startedAt, load, ...withInternals(internals), resources, loadAvg: { before, after: loadAvgNow() } },
    sent: result.sent,
    analysis,
  };
}

/**
 * No traffic at all (issue 11's idle goal): the system runs, ready, with nothing to do, and its
 * processes (and the stack's) are watched for `durationS` after a settle period. Whatever CPU they
 * use is what their timers, poll loops and heartbeats cost.
 *
 * The settle is 30 s: the goal is about a system left running with no traffic, and its first half
 * minute is start-up, not idle (the consumers' first group join and metadata refreshes on a topic
 * the broker just created, the processes' first collections). With 5 s the scenario read
 * 0.056-0.065 core where `npm run cpu` on a settled `npm run up` read 0.035-0.051.
 */
export const IDLE_SETTLE_S = 30;

export async function measureIdle(ctx: BenchContext, running: RunningSystem, durationS: number, settleS = IDLE_SETTLE_S): Promise<SystemRun> {
  await Bun.sleep(settleS * 1000);
  const before = loadAvgNow();
  const startedAt = new Date().toISOString();
  const monitor = new ResourceMonitor(running.groups);
  const threads = brokerThreadWatch(running);
  const t0 = performance.now();
  monitor.start();
  threads?.start();
  await Bun.sleep(durationS * 1000);
  const resources = monitor.stop();
  const brokerThreads = threads?.stop();
  const windowS = Math.round((performance.now() - t0) / 10) / 100;
  const load: LoadFigures = {
    tool: 'oha',
    connections: 0,
    targetRps: 0,
    durationS,
    requests: 0,
    okRequests: 0,
    rps: 0,
    okRps: 0,
    p50Ms: 0,
    p90Ms: 0,
    p99Ms: 0,
    p999Ms: 0,
    maxMs: 0,
    latencyCorrected: false,
    statuses: {},
    transportErrors: {},
    validNon2xx: 0,
  };
  const cores = Object.entries(resources)
    .map(([k, v]) => `${k} ${(v.cpuSeconds / windowS).toFixed(3)}`)
    .join(', ');
  ctx.log(`${running.system.padEnd(12)} idle ${durationS}s: cores ${cores}`);
  return { system: running.system, startedAt, load, resources, windowS, ...(brokerThreads ? { brokerThreads } : {}), loadAvg: { before, after: loadAvgNow() } };
}
