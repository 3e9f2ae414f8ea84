/**
 * The fault tier's main test: a private stack under steady load (each request a new session with
 * its own Idempotency-Key; 2,000 a second, or less on a machine that a short calibration finds
 * cannot carry that: docs/reliability.md, "Load"), and, twice each, kill -9 the broker, kill -9 each
 * consumer in the middle of a batch, stop/start Postgres, stop/start ClickHouse. Once lag is zero
 * every acknowledged event is looked up in both stores. The same run as
 * `bun scripts/fault-injection.ts`; the figures are printed and written to
 * <STACK_DIR>/fault-results/ for docs/reliability.md.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackDir } from '../../stack/paths.ts';
import { testConfig } from '../support/kafka.ts';
import type { PrivateStack } from '../../scripts/lib/private-stack.ts';
import { formatReport, totals } from '../../scripts/lib/fault/report.ts';
import { API_RSS_BOUND_MB, DEFAULT_SCENARIO, type ScenarioReport, runFaultScenario } from '../../scripts/lib/fault/scenario.ts';

const stacks: PrivateStack[] = [];
afterAll(async () => {
  for (const s of stacks.splice(0)) await s.dispose().catch(() => undefined);
});

let report: ScenarioReport;
beforeAll(async () => {
  report = await runFaultScenario({
    ...DEFAULT_SCENARIO,
    sharedConfig: testConfig,
    log: (line) => console.log(line),
    onStack: (s) => stacks.push(s),
  });
  console.log(`\n${formatReport(report)}\n`);
  const dir = join(stackDir(testConfig), 'fault-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${report.startedAt.replaceAll(':', '-')}.json`), `${JSON.stringify(report, null, 2)}\n`);
}, 30 * 60_000);

test('every fault was injected the planned number of times, under load', () => {
  const faults = report.phases.filter((p) => p.fault !== 'baseline');
  expect(faults.length).toBe(DEFAULT_SCENARIO.rounds * DEFAULT_SCENARIO.faults.length);
  for (const p of report.phases) expect(p.acknowledged).toBeGreaterThan(0);
});

test('every acknowledged event is in Postgres sessions, with its event id; none missing', () => {
  for (const p of report.phases) {
    expect({ phase: p.phase, missing: p.postgres.missing, wrongEventId: p.postgres.wrongEventId }).toEqual({ phase: p.phase, missing: 0, wrongEventId: 0 });
    expect(p.postgres.found).toBe(p.acknowledged);
  }
  expect(report.unknownEvents.postgres).toBe(0);
});

test('every acknowledged event is in ClickHouse by event id; none missing', () => {
  for (const p of report.phases) {
    expect({ phase: p.phase, missing: p.clickhouse.missing }).toEqual({ phase: p.phase, missing: 0 });
    expect(p.clickhouse.found).toBe(p.acknowledged);
  }
  expect(report.unknownEvents.clickhouse).toBe(0);
});

/**
 * Exactly once by event id after dedupe (FINAL). A redelivery carries the same key and merges;
 * so, since 58ff423 (session_events keyed on (completed_at, event_id)), does a client's retry
 * whose first attempt was answered 503 but written later: the retry repeats the event id and
 * completedAt, only receivedAt differs.
 */
test('every acknowledged event is in ClickHouse exactly once after dedupe (FINAL), retries included', () => {
  const t = totals(report);
  expect({ afterDedupe: t.chDuplicatesAfterDedupe, sameKey: t.chDuplicatesSameKey }).toEqual({ afterDedupe: 0, sameKey: 0 });
});

test('user_stats equals a recompute over sessions for every user', () => {
  expect(report.userStats.examples).toEqual([]);
  expect(report.userStats.mismatches).toBe(0);
  expect(report.userStats.users).toBeGreaterThan(0);
});

test('during broker outages clients got 503 with Retry-After; never another 5xx, never a hang', () => {
  for (const p of report.phases) {
    const seen = { other5xx: p.other5xx, noRetryAfter: p.missingRetryAfter, timeouts: p.clientTimeouts, connErrors: p.connectionErrors, noAnswerRecorded: p.unrecorded };
    expect({ phase: p.phase, ...seen }).toEqual({
      phase: p.phase,
      other5xx: 0,
      noRetryAfter: 0,
      timeouts: 0,
      connErrors: 0,
      noAnswerRecorded: 0,
    });
    const unexpected = Object.keys(p.statuses).filter((s) => s !== '202' && s !== '503');
    expect({ phase: p.phase, unexpected }).toEqual({ phase: p.phase, unexpected: [] });
    if (p.fault === 'kafka-kill9') expect(p.statuses['503'] ?? 0).toBeGreaterThan(0);
  }
});

test('API memory stayed bounded (RSS sampled every 0.5 s)', () => {
  const values = Object.values(report.rss.api);
  expect(values.length).toBeGreaterThan(0);
  // Bounded by the producer buffer caps; an unbounded queue during a 25 s outage at 2,000 req/s would blow far past this.
  expect(Math.max(...values)).toBeLessThan(API_RSS_BOUND_MB);
});

test('no process died on its own', () => {
  expect(report.unexpectedExits).toEqual({ api: 0, 'consumer-postgres': 0, 'consumer-clickhouse': 0 });
});
