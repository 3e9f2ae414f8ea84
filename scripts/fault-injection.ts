/**
 * Fault injection under load, on a PRIVATE stack (its own Kafka, Postgres and ClickHouse in a
 * temp folder on free ports; the shared stack is never touched):
 *
 *   bun scripts/fault-injection.ts [--rounds N] [--rate R|auto] [--faults a,b,...] [--json FILE] [--keep]
 *       [--baseline-ms MS] [--pre-ms MS] [--down-ms MS] [--post-ms MS]
 *
 * Starts the stack, migrations, topics, the API and both consumers as child processes, then runs
 * steady load (R requests a second, each a new session with its own Idempotency-Key, loopback
 * only; by default `auto`: a share of what a short calibration measured this machine to sustain,
 * at most 2,000, see docs/reliability.md "Load") while it injects, in turn and N times each: kill -9 the Kafka broker and start it again;
 * kill -9 each consumer in the middle of a batch and start it again; stop and start Postgres;
 * stop and start ClickHouse. When consumer lag is zero it checks every acknowledged event in
 * both stores and prints, per fault: events acknowledged, found in each store, duplicates, 5xx
 * seen. Exit code 1 when a promise was broken (an acknowledged event missing or duplicated after
 * dedupe, a 5xx other than 503, a 503 without Retry-After, a request without an answer, user
 * stats off). Faults: kafka-kill9, consumer-postgres-kill9, consumer-clickhouse-kill9,
 * postgres-restart, clickhouse-restart. Needs the shared stack's installed servers and Kafka jars
 * (`npm run stack -- start` once).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/kernel/config.ts';
import { hideKafkajsTimerWarning } from '../stack/log.ts';
import { FAULTS, type FaultName } from './lib/fault/faults.ts';
import { formatReport, totals } from './lib/fault/report.ts';
import { API_RSS_BOUND_MB, DEFAULT_SCENARIO, runFaultScenario, type ScenarioReport } from './lib/fault/scenario.ts';

/** The promises a run must keep; each failure is one line. */
export function brokenPromises(report: ScenarioReport): string[] {
  const out: string[] = [];
  const t = totals(report);
  if (t.missing > 0) out.push(`${t.missing} acknowledged events missing from a store (or with another event id)`);
  if (t.chDuplicatesAfterDedupe > 0) {
    out.push(
      `${t.chDuplicatesAfterDedupe} acknowledged events more than once in ClickHouse after dedupe (FINAL); ` +
        `${t.chDuplicatesAfterDedupe - t.chDuplicatesSameKey} of them retries with a new receivedAt (known bug, docs/reliability.md)`,
    );
  }
  if (t.other5xx > 0) out.push(`${t.other5xx} answers were a 5xx other than 503`);
  if (t.missingRetryAfter > 0) out.push(`${t.missingRetryAfter} 503 answers had no Retry-After`);
  if (t.timeoutsOrConnErrors > 0) out.push(`${t.timeoutsOrConnErrors} requests got no answer by the client deadline or a connection error`);
  if (t.unrecorded > 0) out.push(`${t.unrecorded} requests were sent but no answer of theirs was recorded (the load worker lost track)`);
  const rssMax = Math.max(0, ...Object.values(report.rss.api));
  if (rssMax >= API_RSS_BOUND_MB) out.push(`API RSS reached ${rssMax} MB (bound ${API_RSS_BOUND_MB} MB)`);
  if (report.userStats.mismatches > 0) out.push(`${report.userStats.mismatches} users' stats differ from a recompute over sessions`);
  if (report.unknownEvents.postgres + report.unknownEvents.clickhouse > 0) out.push('stores hold events no request of this run made');
  for (const p of report.phases) {
    if (p.fault === 'kafka-kill9' && !(p.statuses['503'] ?? 0)) out.push(`${p.phase}: no 503 during a broker outage (did the fault bite?)`);
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      rate: { type: 'string' },
      faults: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      'baseline-ms': { type: 'string' },
      'pre-ms': { type: 'string' },
      'down-ms': { type: 'string' },
      'post-ms': { type: 'string' },
    },
  });
  const int = (v: string | undefined, fallback: number, name: string) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} wants a whole number, got ${v}`);
    return n;
  };
  const faults = (values.faults?.split(',').map((f) => f.trim()) ?? [...FAULTS]) as FaultName[];
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new Error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
  const rate = values.rate === undefined || values.rate === 'auto' ? 'auto' : int(values.rate, 0, 'rate');
  if (rate !== 'auto' && (rate < 1 || rate > 20_000)) throw new Error('--rate must be 1..20000 or auto');

  const report = await runFaultScenario({
    ...DEFAULT_SCENARIO,
    sharedConfig: loadConfig(process.env),
    rounds: Math.max(1, int(values.rounds, DEFAULT_SCENARIO.rounds, 'rounds')),
    rate,
    faults,
    baselineMs: int(values['baseline-ms'], DEFAULT_SCENARIO.baselineMs, 'baseline-ms'),
    preMs: int(values['pre-ms'], DEFAULT_SCENARIO.preMs, 'pre-ms'),
    downMs: int(values['down-ms'], DEFAULT_SCENARIO.downMs, 'down-ms'),
    postMs: int(values['post-ms'], DEFAULT_SCENARIO.postMs, 'post-ms'),
    keepDir: values.keep ?? false,
    log: (line) => console.log(line),
  });
  console.log(`\n${formatReport(report)}`);
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`figures written to ${values.json}`);
  }
  const broken = brokenPromises(report);
  if (broken.length === 0) {
    console.log('\nAll promises kept.');
    return 0;
  }
  console.log(`\nBROKEN:\n${broken.map((b) => `  - ${b}`).join('\n')}`);
  return 1;
}

if (import.meta.main) {
  hideKafkajsTimerWarning();
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  }
  process.exit(process.exitCode);
}
