/** The Markdown summary of a run (summary.md, and the body of docs/performance.md). Pure. */
import { costCurve, runCost } from './cost.ts';
import { BASELINES, type BenchResults, type ResourceFigures, SYSTEM_LABELS, SYSTEM_SHORT, type ScenarioResult, peakLoad } from './results.ts';

const num = (n: number | null | undefined, digits = 2): string =>
  n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
const ratio = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${num(x)}x`);
const la = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' / ');
const table = (head: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]) => [
  `| ${head.join(' | ')} |`,
  `| ${head.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '--:' : '---')).join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

function statuses(s: Readonly<Record<string, number>>, errors: Readonly<Record<string, number>>): string {
  const parts = Object.entries(s)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${num(v, 0)}`);
  const e = Object.values(errors).reduce((a, b) => a + b, 0);
  if (e > 0) parts.push(`transport errors: ${num(e, 0)}`);
  return parts.join(', ');
}

function loadTable(scenarios: readonly ScenarioResult[]): string[] {
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const r of s.runs) {
      const l = r.load;
      rows.push([
        s.id,
        SYSTEM_SHORT[r.system],
        l.tool,
        num(l.connections, 0),
        l.targetRps === null ? 'max' : num(l.targetRps, 0),
        num(l.okRps, 0),
        num(l.p50Ms),
        num(l.p99Ms),
        num(l.p999Ms),
        num(l.maxMs),
        num(l.validNon2xx, 0),
        statuses(l.statuses, l.transportErrors),
        `${r.loadAvg.before[0].toFixed(2)} → ${r.loadAvg.after[0].toFixed(2)}`,
      ]);
    }
  }
  return table(
    ['scenario', 'system', 'tool', 'conns', 'target req/s', 'ok req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'valid non-2xx', 'answers', 'load 1m before → after'],
    rows,
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l'],
  );
}

function ratioTable(scenarios: readonly ScenarioResult[]): string[] {
  const present = BASELINES.filter((b) => scenarios.some((s) => s.ratios[b] !== undefined));
  if (present.length === 0) return ['(no baseline ran)'];
  return table(
    ['scenario', ...present.flatMap((b) => [`ok req/s API/${SYSTEM_SHORT[b]}`, `p99 API/${SYSTEM_SHORT[b]}`])],
    scenarios
      .filter((s) => present.some((b) => s.ratios[b]))
      .map((s) => [s.id, ...present.flatMap((b) => [ratio(s.ratios[b]?.okRps), ratio(s.ratios[b]?.p99)])]),
    ['l', ...present.flatMap(() => ['r', 'r'] as const)],
  );
}

const RESOURCE_ORDER = ['api', 'consumer-postgres', 'consumer-clickhouse', 'kafka', 'postgres', 'clickhouse', 'bare', 'sync-pg', 'node-kafkajs', 'load-tool'];

function resourceTable(scenarios: readonly ScenarioResult[]): string[] {
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const r of s.runs) {
      const entries = Object.entries(r.resources).sort(([a], [b]) => RESOURCE_ORDER.indexOf(a) - RESOURCE_ORDER.indexOf(b));
      const cell = (f: (x: ResourceFigures) => string) => entries.map(([k, v]) => `${k} ${f(v)}`).join(', ');
      rows.push([s.id, SYSTEM_SHORT[r.system], cell((v) => num(v.cpuSeconds, 1)), cell((v) => num(v.peakRssMb, 0)), cell((v) => num(v.peakPssMb, 0))]);
    }
  }
  return table(['scenario', 'system under load', 'CPU seconds', 'peak RSS MB', 'peak PSS MB'], rows);
}

/** CPU per accepted event (and share of a core) per process and in total, every run (issue 11). */
function costTable(scenarios: readonly ScenarioResult[]): string[] {
  const rows: string[][] = [];
  for (const s of scenarios) {
    for (const r of s.runs) {
      const c = runCost(r);
      const per = c.parts.map((p) => `${p.part} ${p.msPerEvent === null ? `${num(p.cores, 3)} core` : num(p.msPerEvent, 3)}`).join(', ');
      rows.push([s.id, SYSTEM_SHORT[r.system], num(c.acceptedEvents, 0), num(c.windowS, 1), num(c.total.cpuSeconds, 1), num(c.total.cores, 3), c.total.msPerEvent === null ? 'n/a' : num(c.total.msPerEvent, 3), per]);
    }
  }
  return table(
    ['scenario', 'system', 'accepted events', 'window s', 'CPU s (system + its stores)', 'cores', 'CPU ms / event', 'per process: CPU ms / event (idle: cores)'],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

/** The cost curve: rows = offered rate, columns = CPU ms per event and p99 of each system. */
function costCurveTable(scenarios: readonly ScenarioResult[]): string[] {
  const points = costCurve(scenarios);
  if (points.length === 0) return [];
  const systems = (['api', ...BASELINES] as const).filter((sys) => points.some((p) => p.system === sys));
  const offered = [...new Set(points.map((p) => p.offered))];
  const rows = offered.map((o) => [
    o === 'idle' ? 'idle' : o === 'max' ? 'max (closed loop)' : `${num(o, 0)} req/s`,
    ...systems.flatMap((sys) => {
      const p = points.find((x) => x.offered === o && x.system === sys);
      if (!p) return ['', '', ''];
      return [num(p.okRps, 0), p.msPerEvent === null ? `${num(p.cores, 3)} core` : `${num(p.msPerEvent, 3)} (${num(p.cores, 2)} core)`, num(p.p99Ms)];
    }),
  ]);
  return table(
    ['offered', ...systems.flatMap((sys) => [`${SYSTEM_SHORT[sys]} ok req/s`, `${SYSTEM_SHORT[sys]} CPU ms/event`, `${SYSTEM_SHORT[sys]} p99 ms`])],
    rows,
    ['l', ...systems.flatMap(() => ['r', 'r', 'r'] as const)],
  );
}

function freshnessLines(scenarios: readonly ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const s of scenarios) {
    if (s.freshness) {
      const f = s.freshness;
      out.push(
        `**${s.id}**: freshness (API receivedAt -> row stamped in the store), over the run's rows:`,
        '',
        ...table(
          ['store', 'rows / events', 'p50 ms', 'p99 ms', 'max ms', 'to offset commit p50 <= s', 'p99 <= s'],
          [
            ['Postgres (projected_at - received_at)', num(f.postgres.count, 0), num(f.postgres.p50Ms), num(f.postgres.p99Ms), num(f.postgres.maxMs), num(f.postgres.toCommitP50UpperS), num(f.postgres.toCommitP99UpperS)],
            [
              `ClickHouse (api_to_analytics_lag_ms, first delivery; ${num(f.clickhouse.deliveries, 0)} deliveries)`,
              num(f.clickhouse.count, 0),
              num(f.clickhouse.p50Ms),
              num(f.clickhouse.p99Ms),
              num(f.clickhouse.maxMs),
              num(f.clickhouse.toCommitP50UpperS),
              num(f.clickhouse.toCommitP99UpperS),
            ],
          ],
          ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
        ),
        '',
      );
    }
    if (s.lagDrain) {
      const d = s.lagDrain;
      const ms = (x: number | null) => (x === null ? `not zero within ${num(d.deadlineMs / 1000)} s` : `${num(x / 1000)} s`);
      out.push(
        `**${s.id}**: consumer lag back to zero after the load stopped: Postgres ${ms(d.postgresMs)}, ClickHouse ${ms(d.clickhouseMs)}, both ${ms(d.bothMs)} ` +
          `(highest lag during the load: Postgres ${num(d.maxLagDuringLoad.postgres, 0)}, ClickHouse ${num(d.maxLagDuringLoad.clickhouse, 0)} messages).`,
        '',
      );
    }
  }
  return out;
}

function exactnessLines(scenarios: readonly ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const s of scenarios) {
    const e = s.exactness;
    if (!e) continue;
    out.push(
      `**${s.id}**: ${e.ok ? 'EXACT' : '**MISMATCH**'}: ${num(e.acceptedEvents, 0)} distinct accepted events; Postgres has ${num(e.postgres.rowsWithAcceptedIds, 0)} of them ` +
        `(${num(e.postgres.rowsTotal, 0)} rows in all), user_stats sums to ${num(e.postgres.userStatsSessionsSum, 0)} sessions over ${num(e.postgres.usersExpected, 0)} users ` +
        `(${num(e.postgres.usersWithWrongCount, 0)} users with a wrong count); ClickHouse uniqExact(event_id) ${num(e.clickhouse.uniqExactAcceptedIds, 0)} ` +
        `(${num(e.clickhouse.uniqExactTotal, 0)} in all, ${num(e.clickhouse.deliveries, 0)} deliveries). ` +
        `Retries: ${num(e.retries.sent, 0)} sent, ${num(e.retries.sameEventId, 0)} got the original event id, ${num(e.retries.differentEventId, 0)} a different one. ` +
        `Invalid bodies: ${num(e.invalid.sent, 0)} sent, ${num(e.invalid.answered422, 0)} answered 422${Object.keys(e.invalid.answeredOther).length ? `, others ${JSON.stringify(e.invalid.answeredOther)}` : ''}. ` +
        `Batches: ${num(e.batches.sent, 0)} (${num(e.batches.itemsAccepted, 0)} items accepted, ${num(e.batches.itemsRejected, 0)} rejected, ${num(e.batches.itemsWrong, 0)} answered wrongly).`,
      '',
    );
    for (const p of e.problems) out.push(`- **PROBLEM**: ${p}`);
    if (e.problems.length) out.push('');
  }
  return out;
}

export function renderMarkdown(results: BenchResults, opts: { chartPath?: string; costChartPath?: string } = {}): string {
  const m = results.machine;
  const lines: string[] = [
    `Run ${results.startedAt} to ${results.finishedAt}${results.quick ? ' (**--quick**: short durations, figures indicative only)' : ''}.`,
    '',
    `Machine: ${m.cpus} cores, ${num(m.memGb, 0)} GB, ${m.os} (kernel ${m.kernel}); Bun ${m.bun}, Node ${m.node ?? 'n/a'}, oha ${m.oha}. ` +
      `Load average (1/5/15 min) before ${la(results.loadAvg.before)}, after ${la(results.loadAvg.after)}; ` +
      `highest 1-minute figure at the start or end of a measured run ${peakLoad(results).toFixed(2)} (per run in the table below). ` +
      `The load tool runs on the same cores as everything else.`,
    '',
    `Command: \`${results.command}\``,
    '',
    `Settings: ${Object.entries(results.settings).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    '',
    '### Goals',
    '',
    ...table(
      ['goal', 'measured', 'met', 'shortfall'],
      results.goals.map((g) => [g.goal, g.measured, g.met === null ? 'not run' : g.met ? 'yes' : '**NO**', g.shortfall ?? '']),
    ),
    '',
  ];
  if (opts.chartPath) lines.push(`![Throughput and latency per scenario and system](${opts.chartPath})`, '');
  lines.push(
    '### Throughput and latency',
    '',
    `Systems: ${(['api', ...BASELINES] as const).map((s) => `${SYSTEM_SHORT[s]} = ${SYSTEM_LABELS[s]}`).join('; ')}.`,
    '',
    ...loadTable(results.scenarios),
    '',
    '### Ratios (API / baseline, same scenario, same run)',
    '',
    'ok req/s above 1 means the API served more; p99 below 1 means the API answered faster.',
    '',
    ...ratioTable(results.scenarios),
    '',
  );
  const inside = results.scenarios.flatMap((s) => s.runs.filter((r) => r.apiInternals).map((r) => ({ s, i: r.apiInternals! })));
  if (inside.length) {
    const sec = (x: number | null) => (x === null ? 'n/a' : `<= ${num(x * 1000)}`);
    lines.push(
      '### Inside the API (its own /metrics after each run; bucket upper bounds, warm-up included)',
      '',
      'Server-side time of a POST (from routing to the answer, so including the wait for the broker) and the broker acknowledgement of a group-commit batch. ' +
        "Latency the client saw beyond these was spent queueing for CPU or in the load tool.",
      '',
      ...table(
        ['scenario', 'request p50 ms', 'request p99 ms', 'broker ack p50 ms', 'broker ack p99 ms', 'events per batch p50', 'batches'],
        inside.map(({ s, i }) => [s.id, sec(i.requestP50UpperS), sec(i.requestP99UpperS), sec(i.ackP50UpperS), sec(i.ackP99UpperS), i.batchEventsP50Upper === null ? 'n/a' : `<= ${num(i.batchEventsP50Upper, 0)}`, num(i.batches, 0)]),
        ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  const timelines = results.scenarios.flatMap((s) =>
    s.runs.flatMap((r) => [
      ...(r.load.warmupTimeline?.length ? [{ id: `${s.id} (warm-up, fresh processes)`, r, t: r.load.warmupTimeline }] : []),
      ...(r.load.timeline?.length ? [{ id: s.id, r, t: r.load.timeline }] : []),
    ]),
  );
  if (timelines.length) {
    const longest = timelines.reduce((a, b) => (b.t.length > a.t.length ? b : a)).t;
    const windows = longest.length;
    const width = longest[0]!.toS - longest[0]!.fromS;
    lines.push(
      `### Latency over the run (p99 ms of the 2xx answers sent in each ${width} s window, latency-corrected)`,
      '',
      'A tail that sits in the first windows is warm-up (JIT, a new topic, new tables); one spread over all is the steady state.',
      '',
      ...table(
        ['scenario', 'system', ...longest.map((w) => `${w.fromS}-${w.toS} s`)],
        timelines.map(({ id, r, t }) => [id, SYSTEM_SHORT[r.system], ...Array.from({ length: windows }, (_, i) => (t[i] && t[i].count > 0 ? num(t[i].p99Ms) : 'n/a'))]),
      ),
      '',
    );
  }
  const fresh = freshnessLines(results.scenarios);
  if (fresh.length) lines.push('### Freshness and consumer lag', '', ...fresh);
  const exact = exactnessLines(results.scenarios);
  if (exact.length) lines.push('### Read-model exactness (realistic traffic)', '', ...exact);
  const extra = results.scenarios.filter((s) => s.extra);
  if (extra.length) {
    lines.push('### Replay benchmarks', '');
    for (const s of extra) lines.push(`**${s.id}**: \`${JSON.stringify(s.extra)}\``, '');
  }
  lines.push(
    '### Cost: CPU per accepted event',
    '',
    "Each system's total counts what it needs to serve a request: the API with both consumers, the broker, Postgres and ClickHouse; " +
      '(b) sync-pg with Postgres; (c) node-kafkajs with the broker; (a) bare alone. The load tool is never counted. ' +
      'Idle rows show the share of a core instead (no events).',
    '',
    ...costTable(results.scenarios),
    '',
  );
  const threads = results.scenarios.flatMap((s) => s.runs.filter((r) => r.brokerThreads).map((r) => ({ s, r })));
  if (threads.length) {
    lines.push(
      "The broker's CPU by thread over the same window (JVM thread names, 15 characters, pools summed; the top few):",
      '',
      ...table(
        ['scenario', 'system', 'broker CPU s by thread'],
        threads.map(({ s, r }) => [s.id, SYSTEM_SHORT[r.system], Object.entries(r.brokerThreads!).map(([k, v]) => `${k} ${num(v)}`).join(', ')]),
      ),
      '',
    );
  }
  const curve = costCurveTable(results.scenarios);
  if (curve.length) {
    lines.push('### Cost curve (CPU per event and p99 against offered rate, consumers running)', '');
    if (opts.costChartPath) lines.push(`![CPU per event and p99 against offered rate](${opts.costChartPath})`, '');
    lines.push(...curve, '');
  }
  lines.push('### Resources per scenario (CPU seconds during the measured run; peaks sampled every 250 ms)', '', ...resourceTable(results.scenarios), '');
  const notes = results.scenarios.flatMap((s) => s.notes.map((n) => `- ${s.id}: ${n}`));
  if (notes.length) lines.push('### Notes', '', ...notes, '');
  return lines.join('\n');
}
