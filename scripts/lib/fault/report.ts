/** The scenario's figures as Markdown tables (the command prints them; docs/reliability.md quotes them). */
import type { PhaseFigures, ScenarioReport } from './scenario.ts';

const statusList = (s: Record<string, number>) =>
  Object.entries(s)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => `${k === '0' ? 'timeout' : k === '-1' ? 'conn-err' : k}:${v}`)
    .join(' ');

export function phaseTable(phases: readonly PhaseFigures[]): string {
  const head =
    '| phase | requests | 202 | in Postgres | in ClickHouse | missing (PG/CH) | CH dup rows unmerged at the end | CH dup after dedupe | 5xx (all 503?) | 503 w/o Retry-After | timeouts | max answer ms | stored w/o 202 (PG/CH) | API RSS max MB | answers by status |';
  const sep = `|${' --- |'.repeat(15)}`;
  const rows = phases.map((p) =>
    [
      p.phase,
      p.requests,
      p.acknowledged,
      p.postgres.found,
      p.clickhouse.found,
      `${p.postgres.missing + p.postgres.wrongEventId}/${p.clickhouse.missing}`,
      p.clickhouse.rawExtraRows,
      p.clickhouse.duplicatesAfterDedupe,
      `${p.fiveXX} (${p.other5xx === 0 ? 'yes' : `no: ${p.other5xx} other`})`,
      p.missingRetryAfter,
      p.clientTimeouts + p.connectionErrors,
      p.maxAnswerMs,
      `${p.storedWithout202.postgres}/${p.storedWithout202.clickhouse}`,
      p.apiRssMaxMb ?? '',
      statusList(p.statuses),
    ].join(' | '),
  );
  return [head, sep, ...rows.map((r) => `| ${r} |`)].join('\n');
}

export function notesTable(phases: readonly PhaseFigures[]): string {
  const rows = phases
    .filter((p) => p.notes)
    .map((p) => `| ${p.phase} | ${p.notes?.what} | ${p.notes?.downMs} | ${p.notes?.repairMs} | ${p.notes?.midBatch ?? ''} | ${p.notes?.uncommittedAtKill ?? ''} |`);
  return ['| phase | fault | down ms | repair ms | at the kill | uncommitted msgs at kill |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function totals(report: ScenarioReport) {
  const sum = (f: (p: PhaseFigures) => number) => report.phases.reduce((n, p) => n + f(p), 0);
  return {
    requests: sum((p) => p.requests),
    acknowledged: sum((p) => p.acknowledged),
    inPostgres: sum((p) => p.postgres.found),
    inClickhouse: sum((p) => p.clickhouse.found),
    missing: sum((p) => p.postgres.missing + p.postgres.wrongEventId + p.clickhouse.missing),
    chDuplicatesAfterDedupe: sum((p) => p.clickhouse.duplicatesAfterDedupe),
    chDuplicatesSameKey: sum((p) => p.clickhouse.duplicatesSameKey),
    chRawExtraRows: sum((p) => p.clickhouse.rawExtraRows),
    fiveXX: sum((p) => p.fiveXX),
    other5xx: sum((p) => p.other5xx),
    missingRetryAfter: sum((p) => p.missingRetryAfter),
    timeoutsOrConnErrors: sum((p) => p.clientTimeouts + p.connectionErrors),
    unrecorded: sum((p) => p.unrecorded),
  };
}

export function formatReport(report: ScenarioReport): string {
  const t = totals(report);
  const rss = report.rss.api;
  const values = Object.values(rss);
  return [
    `Fault run ${report.startedAt}: ${report.options.rounds} round(s) of ${report.options.faults.join(', ')} at ${report.rate} req/s, ${(report.durationMs / 1000).toFixed(0)} s in all.`,
    `Rate: ${report.rateReason}.`,
    ...(report.calibration
      ? [
          `Calibration: ${report.calibration.concurrency} requests kept open for ${report.calibration.durationMs} ms: ${report.calibration.accepted} of ${report.calibration.sent} answered 202, ` +
            `${report.calibration.acceptedPerSec} req/s after a ${report.calibration.warmupMs} ms warm-up, p50 ${report.calibration.p50Ms} ms, p99 ${report.calibration.p99Ms} ms; consumers caught up ${report.calibration.drainMs} ms later.`,
        ]
      : []),
    ...baselineWarning(report),
    `Load: ${report.load.started} requests sent, ${t.requests} accounted for in the phases (${t.unrecorded} with no answer recorded), ${report.load.skipped} skipped at the client's in-flight cap, ${report.load.attempts} attempts (503s retried with the same Idempotency-Key).`,
    '',
    phaseTable(report.phases),
    '',
    notesTable(report.phases),
    '',
    `Totals: ${t.acknowledged} acknowledged of ${t.requests}; in Postgres ${t.inPostgres}, in ClickHouse ${t.inClickhouse}; missing ${t.missing}; ` +
      `ClickHouse duplicates after dedupe ${t.chDuplicatesAfterDedupe} (of which copies with different received_at: ${report.clickhouseDuplicatesWithDifferentReceivedAt}; raw redelivered rows before merges ${t.chRawExtraRows}); ` +
      `5xx ${t.fiveXX} (non-503 ${t.other5xx}, 503 without Retry-After ${t.missingRetryAfter}); client timeouts or connection errors ${t.timeoutsOrConnErrors}.`,
    `Lag reached zero ${report.lagWaitMs} ms after the load stopped. Postgres sessions ${report.postgresSessions}, ClickHouse distinct events ${report.clickhouseEvents}, ` +
      `rows ever inserted ${report.clickhouseDeliveries} (so ${report.clickhouseDeliveries - report.clickhouseEvents} redelivered or retried rows, merged away or not); ` +
      `events no request made: PG ${report.unknownEvents.postgres}, CH ${report.unknownEvents.clickhouse}.`,
    `user_stats: ${report.userStats.users} users, ${report.userStats.mismatches} differ from a recompute over sessions.`,
    `API RSS (max per phase, MB): ${values.length > 0 ? `${Math.min(...values)}..${Math.max(...values)}` : 'n/a'}; ${JSON.stringify(rss)}`,
    `Consumers RSS max MB: postgres ${Math.max(0, ...Object.values(report.rss.consumerPostgres))}, clickhouse ${Math.max(0, ...Object.values(report.rss.consumerClickhouse))}.`,
    `Processes that died on their own (restarted by the harness): ${JSON.stringify(report.unexpectedExits)}.`,
  ].join('\n');
}

/**
 * A baseline (no fault) that is not all 202s, or is slow, means the machine could not carry the
 * rate: the fault figures then mix an overload with the faults. Said, not asserted: timing on a
 * shared machine is not a test's business (docs/reliability.md, "Load").
 */
function baselineWarning(report: ScenarioReport): string[] {
  const b = report.phases.find((p) => p.phase === 'baseline');
  if (!b) return [];
  const not202 = b.attempts - (b.statuses['202'] ?? 0);
  if (not202 === 0 && b.maxAnswerMs < 1_000) return [];
  return [
    `WARNING: the baseline (no fault) was not healthy at ${report.rate} req/s: ${not202} answers other than 202, slowest ${b.maxAnswerMs} ms. ` +
      'The machine was overloaded; the fault phases test an overload as much as the faults. Run again on a quieter machine or with a lower --rate.',
  ];
}
