/**
 * The benchmark suite (issue 6): `npm run bench` = `bun bench/run.ts`.
 *
 *   bun bench/run.ts [--quick] [--only=seed,max,steady,realistic,paced-25k,replay-postgres,replay-clickhouse]
 *                    [--systems=api,bare,sync-pg,node-kafkajs] [--out=DIR] [--api-workers=N]
 *                    [--realistic-rate=N] [--realistic-concurrency=N] [--keep] [--no-chart] [--update-docs]
 *                    [--private-stack] [--cpu-prof] [--ab='A:K=V,K=V;B:K=V' [--repeat=N]]
 *   bun bench/run.ts --render=bench/results/<stamp>/results.json [--update-docs]   (re-render only)
 *
 * Installs oha if missing, brings the native stack up if needed (stack, migrations, topics),
 * then runs each scenario for a fixed, bounded time against loopback only, the API and each
 * baseline as its own process, one after the other on the same machine. Writes results.json,
 * summary.md and chart.{svg,png} to bench/results/<stamp>/ (git-ignored); --update-docs also
 * puts the summary into docs/performance.md and the chart into docs/images/.
 * --private-stack runs everything on a stack of its own (its own broker, Postgres and ClickHouse
 * in a temp folder on free ports, removed at the end), so the stack's CPU figures are this run's
 * alone: the shared stack's broker also serves everyone else's tests and consumers.
 * --cpu-prof runs the API and both consumers under `bun --cpu-prof --cpu-prof-md`: a .cpuprofile
 * and a Markdown summary per process and scenario land in <out>/profiles/ when they exit.
 * --ab runs the chosen scenarios once per variant (labelled settings given to the API and the
 * consumers it starts; scenario ids get `@label`, and `#round` with --repeat), alternating
 * A, B, A, B on the same stack, so an A/B is measured back to back in the same conditions.
 * Figures are measurements, not tests: a missed goal is reported, never failed on. The exit
 * code is 1 only when a scenario crashed or a read model did not count exactly.
 * docs/performance.md describes every scenario, figure and field.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { newApiKey } from '../scripts/lib/api-key.ts';
import { migrate } from '../scripts/lib/migrate.ts';
import { createClickHouseClient } from '../src/kernel/clickhouse/client.ts';
import { loadConfig } from '../src/kernel/config.ts';
import { createKafka } from '../src/kernel/kafka/client.ts';
import { ensureConfiguredTopics } from '../src/kernel/kafka/topics.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { type PrivateStack, launchPrivateStack } from '../scripts/lib/private-stack.ts';
import { consoleStackLog, loadStackConfig, startStack } from '../stack/index.ts';
import { servicePaths } from '../stack/paths.ts';
import { type BenchContext, FULL, QUICK } from './lib/context.ts';
import { ohaRequest } from './lib/measure.ts';
import { OHA_VERSION, ensureOha, runOha } from './lib/oha.ts';
import { startSystem } from './lib/systems.ts';
import { writeOutputs } from './lib/output.ts';
import { type BenchResults, type LoadAvg, RESULTS_SCHEMA_VERSION, type ScenarioResult, type SystemId, evaluateGoals } from './lib/results.ts';
import { REPO, killAllTargets } from './lib/targets.ts';
import { ohaBodyLines } from './lib/traffic.ts';
import { DEFAULT_SCENARIOS, SCENARIOS } from './scenarios/index.ts';

const ALL_SYSTEMS: readonly SystemId[] = ['api', 'bare', 'sync-pg', 'node-kafkajs'];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    systems: { type: 'string' },
    out: { type: 'string' },
    'api-workers': { type: 'string', default: '1' },
    'realistic-rate': { type: 'string', default: '2000' },
    'realistic-concurrency': { type: 'string', default: '64' },
    keep: { type: 'boolean', default: false },
    'no-chart': { type: 'boolean', default: false },
    'update-docs': { type: 'boolean', default: false },
    'private-stack': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    ab: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    render: { type: 'string' },
  },
});

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

/** `A:K=V,K=V;B:K=V` -> labelled settings; no --ab: one unlabelled variant with no settings. */
function parseVariants(spec: string | undefined): Array<{ label: string; env: Record<string, string> }> {
  if (!spec) return [{ label: '', env: {} }];
  return spec.split(';').filter(Boolean).map((part) => {
    const at = part.indexOf(':');
    const label = at < 0 ? part : part.slice(0, at);
    if (!/^[A-Za-z0-9_-]+$/.test(label)) fail(`--ab: variant label ${JSON.stringify(label)} must be letters, digits, - or _`);
    const env: Record<string, string> = {};
    for (const kv of (at < 0 ? '' : part.slice(at + 1)).split(',').filter(Boolean)) {
      const eq = kv.indexOf('=');
      if (eq <= 0) fail(`--ab: ${JSON.stringify(kv)} is not KEY=VALUE`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return { label, env };
  });
}

// --render=<results.json>: re-render an earlier run's summary and chart (and docs), measure nothing.
if (args.render) {
  const earlier = JSON.parse(readFileSync(args.render, 'utf8')) as BenchResults;
  if (earlier.schemaVersion !== RESULTS_SCHEMA_VERSION) fail(`${args.render}: schemaVersion ${earlier.schemaVersion}, expected ${RESULTS_SCHEMA_VERSION}`);
  const again: BenchResults = { ...earlier, goals: evaluateGoals(earlier.scenarios) };
  const dir = args.out ?? dirname(args.render);
  const { summary, files } = await writeOutputs(again, dir, { chart: !args['no-chart'], updateDocs: args['update-docs'] ?? false, log });
  console.log(summary);
  log(`re-rendered: ${dir}/{${files.join(',')}}`);
  process.exit(0);
}

const only = (args.only ?? DEFAULT_SCENARIOS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const id of only) if (!SCENARIOS.some((s) => s.id === id)) fail(`unknown scenario ${JSON.stringify(id)}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
const systems = (args.systems ?? ALL_SYSTEMS.join(',')).split(',').map((s) => s.trim()) as SystemId[];
for (const s of systems) if (!ALL_SYSTEMS.includes(s)) fail(`unknown system ${JSON.stringify(s)}; known: ${ALL_SYSTEMS.join(', ')}`);
if (!systems.includes('api')) fail('--systems must include api');
const ordered = ALL_SYSTEMS.filter((s) => systems.includes(s));

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const outDir = args.out ?? join(REPO, 'bench', 'results', stamp);
const logDir = join(outDir, 'logs');
mkdirSync(logDir, { recursive: true });
const command = `bun bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const loadAvgNow = (): LoadAvg => loadavg().map((x) => Math.round(x * 100) / 100) as unknown as LoadAvg;
const loadBefore = loadAvgNow();
log(`${command}; load average ${loadBefore.join(' ')}; results in ${outDir}`);

const cleanups: Array<() => Promise<void>> = [];
let interrupted = false;
const onSignal = (signal: string) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log(`${signal}: stopping every process the benchmark started`);
  killAllTargets();
  if (privateStack) void privateStack.dispose().finally(() => process.exit(130));
  else process.exit(130);
};
let privateStack: PrivateStack | undefined;
process.once('SIGINT', () => onSignal('SIGINT'));
process.once('SIGTERM', () => onSignal('SIGTERM'));
process.on('exit', killAllTargets);

// ---- the stack, migrations, topics and the load tool
const oha = await ensureOha(log);
let config = loadConfig(process.env);
if (args['private-stack']) {
  log('starting a private stack (its own broker, Postgres and ClickHouse)');
  privateStack = await launchPrivateStack(config, { log: consoleStackLog('[private-stack]'), env: { KAFKA_HEAP: config.KAFKA_HEAP } }, (s) => {
    privateStack = s;
  });
  config = privateStack.config;
  // Every process the benchmark starts inherits this environment: point it at the private stack.
  for (const k of ['STACK_DIR', 'KAFKA_PORT', 'KAFKA_CONTROLLER_PORT', 'PG_PORT', 'CLICKHOUSE_HTTP_PORT', 'CLICKHOUSE_TCP_PORT', 'KAFKA_HEAP'] as const) {
    const v = privateStack.env[k];
    if (v !== undefined) process.env[k] = v;
  }
  for (const k of ['KAFKA_BROKERS', 'DATABASE_URL', 'CLICKHOUSE_URL'] as const) delete process.env[k];
} else {
  // The shared stack's passwords first, when it has none (stack/credentials.ts).
  config = loadStackConfig(process.env, consoleStackLog('[stack]'));
  await startStack(config, consoleStackLog('[stack]'));
  await migrate(config, consoleStackLog('[migrate]'));
  await ensureConfiguredTopics(config, silentLogger());
}

const admin = createKafka(config, silentLogger(), '-bench').admin();
await admin.connect();
const pgAdmin = new pg.Client({ connectionString: config.DATABASE_URL, application_name: 'bench-admin' });
await pgAdmin.connect();
const ch = createClickHouseClient(config, { application: 'session-pipeline.bench' });

const pidOf = (name: 'kafka' | 'postgres' | 'clickhouse'): number | undefined => {
  try {
    const pid = Number(readFileSync(servicePaths(config, name).pidFile, 'utf8').trim().split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
};

const runTag = `${startedAt.getTime().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const { key: apiKey, entry: apiKeysEntry } = newApiKey('bench', ['ingest', 'read'], 1_000_000);
const bodiesFile = join(outDir, 'bodies.ndjson');
writeFileSync(bodiesFile, `${ohaBodyLines(10_000, 42, Date.now()).join('\n')}\n`);

const ctx: BenchContext = {
  config,
  quick: args.quick ?? false,
  durations: args.quick ? QUICK : FULL,
  oha,
  outDir,
  logDir,
  runTag,
  admin,
  pgAdmin,
  ch,
  stackPids: { kafka: pidOf('kafka'), postgres: pidOf('postgres'), clickhouse: pidOf('clickhouse') },
  apiKey,
  apiKeysEntry,
  apiWorkers: positiveInt('api-workers', args['api-workers']),
  systems: ordered,
  bodiesFile,
  realisticRate: positiveInt('realistic-rate', args['realistic-rate']),
  realisticConcurrency: positiveInt('realistic-concurrency', args['realistic-concurrency']),
  keep: args.keep ?? false,
  ...(args['cpu-prof'] ? { cpuProfileDir: join(outDir, 'profiles') } : {}),
  log,
  onCleanup: (fn) => void cleanups.push(fn),
};

// ---- scenarios, one after the other
// A fresh private broker spends its first minutes of load JIT-compiling (its C2 compiler threads
// used as much CPU as its request handlers in a 60 s window), which a long-running broker has
// done long ago: warm the whole pipeline up once, unmeasured, before the scenarios. 30 s was not
// enough: the seed scenario's p99 right after it was 80 ms in the 2026-12-03 full run, and in an
// A/B made next 18 ms in its first round and 5.3 ms in its second (docs/performance.md). 90 s at
// 2,000 req/s alone was not either: the first `seed` after it still had a p99 of 16 ms in its
// first 20 s and 5-7 ms after (its broker spent 10.3 CPU s against 7.2 in the next round), as
// ordinary rates take paths (fetches held for minBytes until their wait ends, small produce
// batches) that a busy broker seldom takes. So the warm-up also runs a minute at the seed's rate.
const WARMUP_STEPS = [
  { qps: 2_000, connections: 32, durationS: 60 },
  { qps: 333, connections: 16, durationS: 60 },
] as const;
if (privateStack && !args.quick) {
  log(`warming up the private stack (${WARMUP_STEPS.map((s) => `${s.durationS} s at ${s.qps.toLocaleString('en-US')} req/s`).join(', then ')} through the API and both consumers; not measured)`);
  const warm = await startSystem(ctx, 'api', 'warmup', { consumers: true });
  try {
    for (const step of WARMUP_STEPS) await runOha(oha, { ...ohaRequest(ctx, warm.url), ...step });
  } finally {
    await warm.stop();
  }
}

const scenarios: ScenarioResult[] = [];
let crashed = false;
// --ab: the same scenarios once per variant (A, B, A, B... with --repeat), each variant's settings
// in the environment of the processes it starts, each on its own topic, groups and stores.
const variants = parseVariants(args.ab);
const repeat = positiveInt('repeat', args.repeat);
for (let round = 1; round <= repeat; round++) {
  for (const variant of variants) {
    const suffix = variant.label ? `@${variant.label}${repeat > 1 ? `#${round}` : ''}` : '';
    const saved = Object.fromEntries(Object.keys(variant.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, variant.env);
    const vctx: BenchContext = suffix ? { ...ctx, runTag: `${ctx.runTag}${round}${variant.label.toLowerCase().replace(/[^a-z0-9]/g, '')}` } : ctx;
    for (const scenario of SCENARIOS.filter((s) => only.includes(s.id))) {
      log(`== ${scenario.id}${suffix}: ${scenario.title}${suffix ? ` (${JSON.stringify(variant.env)})` : ''}`);
      try {
        scenarios.push(...(await scenario.run(vctx)).map((r) => (suffix ? { ...r, id: `${r.id}${suffix}`, notes: [...r.notes, `variant ${variant.label}: ${JSON.stringify(variant.env)}`] } : r)));
      } catch (error) {
        crashed = true;
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`!! ${scenario.id}${suffix} FAILED: ${message}`);
        killAllTargets();
        scenarios.push({ id: `${scenario.id}${suffix}`, title: scenario.title, description: '', runs: [], ratios: {}, notes: [`FAILED: ${message.split('\n')[0]}`] });
      }
    }
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

log('cleaning up topics, groups, schemas and databases');
for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => log(`clean-up: ${String(e)}`));
await admin.disconnect();
await pgAdmin.end();
await ch.close();
if (privateStack) {
  log('stopping the private stack');
  await privateStack.dispose();
}

// ---- results
const nodeVersion = (() => {
  const r = Bun.spawnSync(['/usr/bin/node', '--version'], { stdout: 'pipe' });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
})();
const osName = (() => {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
})();
const results: BenchResults = {
  schemaVersion: RESULTS_SCHEMA_VERSION,
  command,
  quick: ctx.quick,
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    memGb: Math.round(totalmem() / 1024 ** 3),
    os: osName,
    kernel: release(),
    bun: Bun.version,
    node: nodeVersion,
    oha: OHA_VERSION,
  },
  loadAvg: { before: loadBefore, after: loadAvgNow() },
  settings: {
    KAFKA_TOPIC_PARTITIONS: config.KAFKA_TOPIC_PARTITIONS,
    PRODUCER_LINGER_MS: config.PRODUCER_LINGER_MS,
    PRODUCER_MAX_BATCH_EVENTS: config.PRODUCER_MAX_BATCH_EVENTS,
    PRODUCER_MAX_IN_FLIGHT_BATCHES: config.PRODUCER_MAX_IN_FLIGHT_BATCHES,
    PG_BATCH_MAX_EVENTS: config.PG_BATCH_MAX_EVENTS,
    PG_BATCH_MAX_WAIT_MS: config.PG_BATCH_MAX_WAIT_MS,
    CH_BATCH_MAX_EVENTS: config.CH_BATCH_MAX_EVENTS,
    CH_BATCH_MAX_WAIT_MS: config.CH_BATCH_MAX_WAIT_MS,
    API_WORKERS: ctx.apiWorkers,
    // Issue 11's settings (absent from older code: then n/a).
    ...Object.fromEntries(
      ['KAFKA_TUNING', 'KAFKA_HEAP', 'CONSUMER_FETCH_MIN_BYTES', 'CONSUMER_FETCH_MAX_WAIT_MS'].map((k) => [k, String((config as Record<string, unknown>)[k] ?? 'n/a')]),
    ),
    stack: args['private-stack'] ? 'private (this run only)' : 'shared',
    APP_ENV: 'production (API keys on)',
  },
  scenarios,
  goals: evaluateGoals(scenarios),
};

const { summary, files } = await writeOutputs(results, outDir, { chart: !args['no-chart'], updateDocs: args['update-docs'] ?? false, log });
console.log(summary);
log(`results: ${relative(process.cwd(), outDir) || outDir}/{${files.join(',')}}`);
const mismatch = scenarios.some((s) => s.exactness && !s.exactness.ok);
process.exit(crashed || mismatch ? 1 : 0);
