/**
 * `npm test`: brings up what the tests need, runs the tiers, ends with `N passed, N failed`.
 *
 *   bun scripts/test.ts            unit, then int and e2e against the native stack
 *   bun scripts/test.ts unit       unit only (never starts the stack)
 *   bun scripts/test.ts chdb       the project's ClickHouse SQL on a current ClickHouse (chdb-core,
 *                                  installed once into .venv-chdb/ by scripts/ensure-chdb.sh); no stack
 *   bun scripts/test.ts int|contract|e2e    one tier (starts the stack first); contract runs
 *                                  schemathesis against the live API (test/contract/)
 *   bun scripts/test.ts fault      the fault tier (`npm run test:fault`): not part of the default
 *                                  run; ~7 min of load and injected faults on private stacks
 *
 * Tiers by suffix: test/**\/*.unit.test.ts, *.int.test.ts, *.e2e.test.ts, *.fault.test.ts. Each tier is one
 * `bun test <files>` child with the same environment (so the same configuration). Counts come
 * from bun's summary lines (` 12 pass`, ` 0 fail`); its junit report was not used because it
 * leaves out errors raised outside a test (a file that fails to load), which the summary counts.
 * A tier that exits non-zero without a counted failure, and a stack that fails to start, each
 * count as one failure with a message.
 *
 * The stack is left running afterwards (a developer wants it warm; CI machines are thrown away):
 * `npm run stack -- stop` stops it.
 */
import { spawn } from 'node:child_process';
import { isAppError } from '../src/kernel/errors.ts';
import { ensureConfiguredTopics } from '../src/kernel/kafka/topics.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { loadStackConfig, startStack } from '../stack/index.ts';
import { consoleStackLog, hideKafkajsTimerWarning, seconds } from '../stack/log.ts';
import { REPO_ROOT } from '../stack/paths.ts';
import { migrate } from './lib/migrate.ts';

const TIERS = ['unit', 'chdb', 'int', 'contract', 'e2e', 'fault'] as const;
/**
 * What a bare `bun scripts/test.ts` (npm test, CI) runs. The fault tier saturates both cores for
 * minutes (2,000 req/s plus three private servers) and is run on purpose: `npm run test:fault`.
 */
const DEFAULT_TIERS = ['unit', 'chdb', 'int', 'contract', 'e2e'] as const;
const STACK_NOT_STARTED = 'not run: the stack did not start';
type Tier = (typeof TIERS)[number];
/** Tiers that need no native stack: pure logic, and the in-process current ClickHouse. */
const needsStack = (tier: Tier): boolean => tier !== 'unit' && tier !== 'chdb';

/** Per-test backstop (tests wait on conditions with their own deadlines). */
const PER_TEST_TIMEOUT_MS = 120_000;
/** Whole-tier backstop: a hung child is killed and counted as a failure. */
const TIER_TIMEOUT_MS = 30 * 60_000;

export interface TierResult {
  readonly tier: Tier;
  readonly files: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly ms: number;
  readonly note?: string;
}

/** Reads bun test's closing summary (` 3 pass`, ` 1 fail`, ` 2 skip`, ` 1 todo`). */
export function parseBunSummary(output: string): { pass: number; fail: number; skip: number } | undefined {
  const count = (word: string) => {
    const matches = [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\s*$`, 'gm'))];
    const last = matches.at(-1);
    return last === undefined ? undefined : Number(last[1]);
  };
  const pass = count('pass');
  const fail = count('fail');
  if (pass === undefined && fail === undefined) return undefined;
  return { pass: pass ?? 0, fail: fail ?? 0, skip: (count('skip') ?? 0) + (count('todo') ?? 0) };
}

async function tierFiles(tier: Tier): Promise<string[]> {
  const files: string[] = [];
  for await (const f of new Bun.Glob(`test/**/*.${tier}.test.ts`).scan({ cwd: REPO_ROOT })) files.push(`./${f}`);
  return files.sort();
}

function runTier(tier: Tier, files: readonly string[]): Promise<TierResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    // Paths starting with ./ are taken as files, not as name filters.
    const child = spawn(process.execPath, ['test', `--timeout=${PER_TEST_TIMEOUT_MS}`, ...files], {
      cwd: REPO_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString('utf8');
      stream.write(chunk);
    };
    child.stdout.on('data', collect(process.stdout));
    child.stderr.on('data', collect(process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIER_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      const summary = parseBunSummary(output);
      const base = { tier, files: files.length, ms };
      if (timedOut) {
        resolve({ ...base, passed: summary?.pass ?? 0, failed: (summary?.fail ?? 0) + 1, skipped: summary?.skip ?? 0, note: `killed after ${seconds(TIER_TIMEOUT_MS)}` });
      } else if (summary === undefined) {
        resolve({ ...base, passed: 0, failed: 1, skipped: 0, note: `bun test ended (${signal ?? `exit code ${code}`}) without a summary` });
      } else if (code !== 0 && summary.fail === 0) {
        resolve({ ...base, passed: summary.pass, failed: 1, skipped: summary.skip, note: `bun test exited with ${signal ?? `code ${code}`} but counted no failure` });
      } else {
        resolve({ ...base, passed: summary.pass, failed: summary.fail, skipped: summary.skip });
      }
    });
  });
}

/** Starts the stack, applies migrations, creates the topics. Returns an error message or undefined. */
async function prepareStack(): Promise<string | undefined> {
  const log = consoleStackLog('[test]');
  try {
    // The stack's passwords first (when it has none); the tests read them from the same file.
    const config = loadStackConfig(process.env, log);
    await startStack(config, log);
    await migrate(config, log);
    const topics = await ensureConfiguredTopics(config, silentLogger());
    if (topics.created.length > 0) log.info(`created topics ${topics.created.join(', ')}`);
    return undefined;
  } catch (error) {
    return isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error);
  }
}

/**
 * The Helm chart's test (test/int/deploy/) needs helm and manifest-check, which
 * deploy/helm/tools.sh builds from the Go module proxy on first use (minutes on an empty Go cache).
 * Built here, outside the int tier's time budget; a failure is left for that test to report.
 */
async function buildChartTools(): Promise<void> {
  const t = Date.now();
  const proc = Bun.spawn(['sh', 'deploy/helm/tools.sh', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await proc.exited;
  console.log(`[test] helm tools ${code === 0 ? 'ready' : `not built (exit ${code}; the chart test reports it)`} in ${seconds(Date.now() - t)}`);
}

/**
 * The chdb tier's engine (chdb-core, a ~530 MB wheel from PyPI) is installed here, once per
 * machine, outside the tier's own time; later runs only check it (well under a second).
 * Returns an error message or undefined.
 */
async function ensureChdb(): Promise<string | undefined> {
  const t = Date.now();
  const proc = Bun.spawn(['sh', 'scripts/ensure-chdb.sh'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await proc.exited;
  if (code !== 0) return `not run: scripts/ensure-chdb.sh failed (exit ${code})`;
  console.log(`[test] chdb-core ready in ${seconds(Date.now() - t)}`);
  return undefined;
}

async function main(args: readonly string[]): Promise<number> {
  const wanted = args[0];
  if (wanted !== undefined && !(TIERS as readonly string[]).includes(wanted)) {
    console.error(`usage: bun scripts/test.ts [${TIERS.join('|')}]`);
    return 2;
  }
  const tiers: readonly Tier[] = wanted === undefined ? DEFAULT_TIERS : [wanted as Tier];

  const results: TierResult[] = [];
  let stackError: string | undefined;
  let stackPrepared = false;
  for (const tier of tiers) {
    const files = await tierFiles(tier);
    if (files.length === 0) {
      results.push({ tier, files: 0, passed: 0, failed: 0, skipped: 0, ms: 0, note: 'no test files' });
      continue;
    }
    if (tier === 'chdb') {
      const installError = await ensureChdb();
      if (installError !== undefined) {
        results.push({ tier, files: files.length, passed: 0, failed: 1, skipped: 0, ms: 0, note: installError });
        continue;
      }
    }
    if (needsStack(tier) && !stackPrepared) {
      stackPrepared = true;
      const t = Date.now();
      console.log('[test] starting the stack (Kafka, Postgres, ClickHouse), migrations, topics…');
      stackError = await prepareStack();
      if (stackError === undefined) console.log(`[test] stack ready in ${seconds(Date.now() - t)}`);
    }
    if (needsStack(tier) && stackError !== undefined) {
      // The stack failure counts once, on the first tier it stopped.
      const counted = results.some((r) => r.note === STACK_NOT_STARTED);
      results.push({ tier, files: files.length, passed: 0, failed: counted ? 0 : 1, skipped: 0, ms: 0, note: STACK_NOT_STARTED });
      continue;
    }
    if (tier === 'int' && files.some((f) => f.startsWith('./test/int/deploy/'))) await buildChartTools();
    console.log(`\n[test] ===== ${tier}: ${files.length} files =====`);
    results.push(await runTier(tier, files));
  }

  console.log('\n[test] ===== summary =====');
  if (stackError !== undefined) console.log(`[test] the stack failed to start (counted as a failure):\n${stackError}`);
  for (const r of results) {
    console.log(
      `[test] ${r.tier.padEnd(4)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ` +
        `${String(r.skipped).padStart(3)} skipped  ${r.files} files  ${seconds(r.ms)}${r.note ? `  (${r.note})` : ''}`,
    );
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  hideKafkajsTimerWarning();
  process.exitCode = await main(process.argv.slice(2));
  // Sockets of the set-up clients may linger a moment; the work is done.
  process.exit(process.exitCode);
}
