import { describe, expect, test } from 'bun:test';
import { logAxis, niceCeil, renderChartSvg } from '../../../bench/lib/chart.ts';
import { DOCS_BEGIN, DOCS_END, replaceBetweenMarkers } from '../../../bench/lib/output.ts';
import { renderMarkdown } from '../../../bench/lib/report.ts';
import { results, run, scenario } from './fixtures.ts';

const sample = results([
  scenario('seed', [run('api', { targetRps: 333, okRps: 333, p99Ms: 6.5 }), run('bare', { targetRps: 333, okRps: 333, p99Ms: 1.2 })]),
  scenario('max-64', [run('api', { okRps: 10_000 }), run('bare', { okRps: 40_000, statuses: { '202': 900, '503': 3 }, validNon2xx: 3 })]),
  scenario('steady', [run('api', { targetRps: 5_000, okRps: 4_990 })], {
    freshness: {
      postgres: { count: 300_000, p50Ms: 250, p99Ms: 600, maxMs: 900, toCommitP50UpperS: 0.3, toCommitP99UpperS: 0.75 },
      clickhouse: { count: 300_000, deliveries: 300_010, p50Ms: 800, p99Ms: 1_400, maxMs: 1_600, toCommitP50UpperS: 1, toCommitP99UpperS: 1.5 },
    },
    lagDrain: {
      postgresMs: 400,
      clickhouseMs: 1_200,
      bothMs: 1_200,
      deadlineMs: 120_000,
      maxLagDuringLoad: { postgres: 2_000, clickhouse: 6_000 },
      samples: [
        { tMs: 0, postgres: 0, clickhouse: 0 },
        { tMs: 30_000, postgres: 1_500, clickhouse: 5_000 },
        { tMs: 61_000, postgres: 0, clickhouse: 0 },
      ],
    },
  }),
]);

describe('renderMarkdown', () => {
  const md = renderMarkdown(sample, { chartPath: 'chart.png' });

  test('names the machine, the load average and the exact command', () => {
    expect(md).toContain('Machine: 2 cores, 24 GB, Debian GNU/Linux 12 (bookworm)');
    expect(md).toContain('Load average (1/5/15 min) before 0.80 / 1.10 / 1.20, after 1.90 / 1.70 / 1.50');
    expect(md).toContain('Command: `bun bench/run.ts`');
  });

  test('one table row per scenario and system, with statuses and refusals', () => {
    expect(md).toContain('| seed | API | oha | 64 | 333 | 333 | 1 | 6.5 | 8 | 10 | 0 | 202: 1,000 | 0.50 → 1.90 |');
    expect(md).toContain('| max-64 | bare | oha | 64 | max | 40,000 | 1 | 4 | 8 | 10 | 3 | 202: 900, 503: 3 | 0.50 → 1.90 |');
  });

  test('ratios per scenario, goals with their verdicts, freshness and lag drain, the chart', () => {
    expect(md).toContain('| max-64 | 0.25x | 1x |');
    expect(md).toMatch(/\| durable ingest >= 0.35x .* \| \*\*NO\*\* \| missed by 0.1x/);
    expect(md).toContain('| freshness p99 < 1 s into Postgres at 5,000 req/s | 600 ms (at 4,990 req/s achieved) | yes |  |');
    expect(md).toContain('| Postgres (projected_at - received_at) | 300,000 | 250 | 600 | 900 | 0.3 | 0.75 |');
    expect(md).toContain('Postgres 0.4 s, ClickHouse 1.2 s, both 1.2 s');
    expect(md).toContain('![Throughput and latency per scenario and system](chart.png)');
  });

  test("the API's own figures get a table of their own", () => {
    const withInside = results([
      scenario('steady', [
        {
          ...run('api'),
          apiInternals: { requestP50UpperS: 0.005, requestP99UpperS: 0.25, ackP50UpperS: 0.002, ackP99UpperS: 0.1, batchEventsP50Upper: 25, batches: 12_000 },
        },
      ]),
    ]);
    expect(renderMarkdown(withInside)).toContain('| steady | <= 5 | <= 250 | <= 2 | <= 100 | <= 25 | 12,000 |');
  });

  test('a run with a latency timeline gets one row of p99 per window, empty windows marked', () => {
    const w = (fromS: number, count: number, p99Ms: number) => ({ fromS, toS: fromS + 10, count, p50Ms: 1, p99Ms, maxMs: p99Ms });
    const md = renderMarkdown(
      results([scenario('seed', [run('api', { warmupTimeline: [w(0, 3330, 24)], timeline: [w(0, 3330, 15.97), w(10, 0, Number.NaN), w(20, 3330, 5.2)] })])]),
    );
    expect(md).toContain('### Latency over the run (p99 ms of the 2xx answers sent in each 10 s window, latency-corrected)');
    expect(md).toContain('| scenario | system | 0-10 s | 10-20 s | 20-30 s |');
    expect(md).toContain('| seed | API | 15.97 | n/a | 5.2 |');
    expect(md).toContain('| seed (warm-up, fresh processes) | API | 24 | n/a | n/a |');
    expect(renderMarkdown(results([scenario('seed', [run('api')])]))).not.toContain('Latency over the run');
  });

  test('a read-model mismatch is shouted, with each problem listed', () => {
    const bad = results([
      scenario('realistic', [run('api', { tool: 'loadgen' })], {
        exactness: {
          ok: false,
          acceptedEvents: 10,
          postgres: { rowsWithAcceptedIds: 9, rowsTotal: 9, userStatsSessionsSum: 9, usersExpected: 3, usersWithWrongCount: 1 },
          clickhouse: { uniqExactAcceptedIds: 10, uniqExactTotal: 10, deliveries: 10 },
          retries: { sent: 1, sameEventId: 1, differentEventId: 0 },
          invalid: { sent: 1, answered422: 1, answeredOther: {} },
          batches: { sent: 0, itemsAccepted: 0, itemsRejected: 0, itemsWrong: 0 },
          problems: ['Postgres lacks 1 accepted events (e.g. e1)'],
        },
      }),
    ]);
    const text = renderMarkdown(bad);
    expect(text).toContain('**MISMATCH**');
    expect(text).toContain('- **PROBLEM**: Postgres lacks 1 accepted events (e.g. e1)');
    expect(text).toMatch(/read models count exactly .* \| \*\*NO\*\* \|/);
  });
});

describe('chart', () => {
  test('log axes span whole decades around the data', () => {
    expect(logAxis(333, 41_000)).toEqual({ min: 100, max: 100_000, ticks: [100, 1_000, 10_000, 100_000] });
    expect(logAxis(0.17, 9.8)).toEqual({ min: 0.1, max: 10, ticks: [0.1, 1, 10] });
    expect(logAxis(100, 100)).toEqual({ min: 100, max: 1_000, ticks: [100, 1_000] });
  });

  test('a linear axis tops out at 1, 2 or 5 times a power of ten', () => {
    expect([niceCeil(1408), niceCeil(576), niceCeil(100), niceCeil(0.3), niceCeil(0)]).toEqual([2_000, 1_000, 100, 0.5, 1]);
  });

  test('an SVG with a bar and a label per scenario and system, and the lag panel', () => {
    const svg = renderChartSvg(sample);
    expect(svg).toStartWith('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(svg.trim()).toEndWith('</svg>');
    for (const id of ['seed', 'max-64', 'steady']) expect(svg).toContain(`>${id}</text>`);
    expect(svg).toContain('>40k</text>');
    expect(svg).toContain('consumer lag (messages) during and after the load');
    expect(svg).toContain('freshness p99: Postgres 600 ms, ClickHouse 1,400 ms');
    expect(svg).not.toContain('NaN');
    // 5 runs: one throughput bar each, and in the latency panel a p99 and a p50 bar each.
    expect(svg.match(/<rect class="bar"/g)?.length).toBe(15);
  });
});

describe('docs markers', () => {
  test('the summary between the markers is replaced, the text around kept', () => {
    const page = `# P\n\nintro\n\n${DOCS_BEGIN}\nold summary\n${DOCS_END}\n\nafter\n`;
    expect(replaceBetweenMarkers(page, 'new summary')).toBe(`# P\n\nintro\n\n${DOCS_BEGIN}\nnew summary\n${DOCS_END}\n\nafter\n`);
    expect(replaceBetweenMarkers('# no markers', 'x')).toBeUndefined();
  });
});
