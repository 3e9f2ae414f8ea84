/**
 * The run's chart as a self-contained SVG (no library, no network): ok requests per second and
 * latency (p50 inside p99) per scenario and system, both on log scales because the systems span
 * three orders of magnitude, plus consumer lag over time in the steady scenario. Pure; the PNG is
 * a screenshot of this SVG (chart-png.ts).
 */
import { offeredOf } from './cost.ts';
import type { BenchResults, ScenarioResult, SystemId } from './results.ts';
import { SYSTEM_LABELS, peakLoad } from './results.ts';

export const CHART_WIDTH = 1200;

export const COLORS: Readonly<Record<SystemId, string>> = {
  api: '#1f6fb4',
  bare: '#8c8c8c',
  'sync-pg': '#c8372d',
  'node-kafkajs': '#e08a14',
};
const ORDER: readonly SystemId[] = ['api', 'bare', 'sync-pg', 'node-kafkajs'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const short = (v: number): string => {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1_000_000 && v % 1_000_000 === 0) return `${v / 1_000_000}M`;
  if (v >= 10_000) return `${Math.round(v / 1000)}k`;
  if (v >= 1_000) return v % 1000 === 0 ? `${v / 1000}k` : `${(v / 1000).toFixed(1)}k`;
  if (v >= 100) return String(Math.round(v));
  if (Number.isInteger(v)) return String(v);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
};

/** The smallest 1, 2 or 5 times a power of ten at or above x (a linear axis' top). */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Log10 axis from the decade at or below `lo` to the decade at or above `hi`. */
export function logAxis(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  const safeLo = lo > 0 && Number.isFinite(lo) ? lo : 1;
  const safeHi = hi > safeLo && Number.isFinite(hi) ? hi : safeLo * 10;
  const a = Math.floor(Math.log10(safeLo));
  let b = Math.ceil(Math.log10(safeHi));
  if (b === a) b = a + 1;
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) ticks.push(10 ** e);
  return { min: 10 ** a, max: 10 ** b, ticks };
}

interface Frame {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

function barPanel(
  frame: Frame,
  title: string,
  unit: string,
  scenarios: readonly ScenarioResult[],
  systems: readonly SystemId[],
  value: (s: ScenarioResult, sys: SystemId) => { top: number; inner?: number } | undefined,
): string {
  const values = scenarios.flatMap((s) => systems.flatMap((sys) => {
    const v = value(s, sys);
    return v ? [v.top, ...(v.inner === undefined ? [] : [v.inner])] : [];
  })).filter((v) => v > 0 && Number.isFinite(v));
  const axis = logAxis(Math.min(...values), Math.max(...values));
  const left = frame.x + 70;
  const bottom = frame.y + frame.h - 40;
  const top = frame.y + 36;
  const plotW = frame.w - 90;
  const plotH = bottom - top;
  const y = (v: number) => bottom - ((Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))) * plotH;
  const out: string[] = [
    `<text x="${frame.x + 10}" y="${frame.y + 20}" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="${frame.x + 10}" y="${(top + bottom) / 2}" font-size="12" transform="rotate(-90 ${frame.x + 14} ${(top + bottom) / 2})" text-anchor="middle">${esc(unit)} (log)</text>`,
  ];
  for (const t of axis.ticks) {
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end">${short(t)}</text>`,
    );
  }
  const groupW = plotW / Math.max(1, scenarios.length);
  const barW = Math.min(48, (groupW * 0.84) / Math.max(1, systems.length));
  scenarios.forEach((s, gi) => {
    const gx = left + gi * groupW + (groupW - barW * systems.length) / 2;
    out.push(`<text x="${left + gi * groupW + groupW / 2}" y="${bottom + 18}" font-size="12" text-anchor="middle">${esc(s.id)}</text>`);
    systems.forEach((sys, si) => {
      const v = value(s, sys);
      if (!v) return;
      const x = gx + si * barW;
      const color = COLORS[sys];
      if (v.top > 0) {
        const yt = Math.max(top, y(Math.max(v.top, axis.min)));
        out.push(`<rect class="bar" x="${x + 1}" y="${yt}" width="${barW - 2}" height="${bottom - yt}" fill="${color}" fill-opacity="${v.inner === undefined ? 0.9 : 0.35}"/>`);
        out.push(`<text x="${x + barW / 2}" y="${yt - 4}" font-size="10" text-anchor="middle">${short(v.top)}</text>`);
      } else {
        out.push(`<text x="${x + barW / 2}" y="${bottom - 4}" font-size="10" text-anchor="middle">0</text>`);
      }
      if (v.inner !== undefined && v.inner > 0) {
        const yi = Math.max(top, y(Math.max(v.inner, axis.min)));
        out.push(`<rect class="bar" x="${x + barW * 0.25}" y="${yi}" width="${barW * 0.5}" height="${bottom - yi}" fill="${color}"/>`);
      }
    });
  });
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  return out.join('\n');
}

const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v).toLocaleString('en-US')} ms`);

function lagPanel(frame: Frame, s: ScenarioResult): string {
  const d = s.lagDrain!;
  const left = frame.x + 70;
  const bottom = frame.y + frame.h - 40;
  const top = frame.y + 52;
  const plotW = frame.w - 90;
  const plotH = bottom - top;
  const maxT = Math.max(1, ...d.samples.map((p) => p.tMs));
  const maxLag = niceCeil(Math.max(1, ...d.samples.flatMap((p) => [p.postgres, p.clickhouse])));
  const x = (t: number) => left + (t / maxT) * plotW;
  const y = (v: number) => bottom - (v / maxLag) * plotH;
  const line = (key: 'postgres' | 'clickhouse') => d.samples.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.tMs).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
  const f = s.freshness;
  const fr = f
    ? `freshness p99: Postgres ${ms(f.postgres.p99Ms)}, ClickHouse ${ms(f.clickhouse.p99Ms)}`
    : '';
  const drain = `lag back to 0 after load: Postgres ${d.postgresMs === null ? 'n/a' : `${(d.postgresMs / 1000).toFixed(1)} s`}, ClickHouse ${d.clickhouseMs === null ? 'n/a' : `${(d.clickhouseMs / 1000).toFixed(1)} s`}`;
  const out = [
    `<text x="${frame.x + 10}" y="${frame.y + 20}" font-size="16" font-weight="bold">${esc(`${s.id}: consumer lag (messages) during and after the load`)}</text>`,
    `<text x="${frame.x + 10}" y="${frame.y + 38}" font-size="12">${esc([fr, drain].filter(Boolean).join('; '))}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxLag * i) / 4;
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${short(v)}</text>`,
    );
  }
  const steps = Math.min(12, Math.ceil(maxT / 1000));
  for (let i = 0; i <= steps; i++) {
    const t = (maxT * i) / steps;
    out.push(`<text x="${x(t)}" y="${bottom + 16}" font-size="11" text-anchor="middle">${Math.round(t / 1000)}s</text>`);
  }
  const loadEnd = s.runs.find((r) => r.system === 'api')?.load.durationS;
  if (loadEnd !== undefined && loadEnd * 1000 <= maxT) {
    out.push(
      `<line x1="${x(loadEnd * 1000)}" x2="${x(loadEnd * 1000)}" y1="${top}" y2="${bottom}" stroke="#555" stroke-dasharray="4 3"/>`,
      // Left of the line when it sits near the right edge, so the label stays on the chart.
      x(loadEnd * 1000) > left + plotW - 80
        ? `<text x="${x(loadEnd * 1000) - 4}" y="${top + 12}" font-size="11" text-anchor="end">load stops</text>`
        : `<text x="${x(loadEnd * 1000) + 4}" y="${top + 12}" font-size="11">load stops</text>`,
    );
  }
  out.push(
    `<path d="${line('postgres')}" fill="none" stroke="#2a9d5c" stroke-width="2"/>`,
    `<path d="${line('clickhouse')}" fill="none" stroke="#7b4bb7" stroke-width="2"/>`,
    `<rect x="${left + 10}" y="${top + 4}" width="12" height="3" fill="#2a9d5c"/><text x="${left + 26}" y="${top + 9}" font-size="11">Postgres consumer group</text>`,
    `<rect x="${left + 190}" y="${top + 4}" width="12" height="3" fill="#7b4bb7"/><text x="${left + 206}" y="${top + 9}" font-size="11">ClickHouse consumer group</text>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
  );
  return out.join('\n');
}

export function renderChartSvg(results: BenchResults): string {
  // The idle and cost-curve runs have a chart of their own (cost-chart.ts).
  const scenarios = results.scenarios.filter((s) => s.runs.length > 0 && offeredOf(s.id) === undefined);
  const systems = ORDER.filter((sys) => scenarios.some((s) => s.runs.some((r) => r.system === sys)));
  const steady = results.scenarios.find((s) => s.lagDrain !== undefined && s.lagDrain.samples.length > 1);
  const W = CHART_WIDTH;
  const panelH = 330;
  const header = 58;
  const H = header + panelH * 2 + (steady ? 250 : 0) + 10;
  const runOf = (s: ScenarioResult, sys: SystemId) => s.runs.find((r) => r.system === sys);
  let lx = 20;
  const legend = systems
    .map((sys) => {
      const x = lx;
      lx += 34 + SYSTEM_LABELS[sys].length * 6.6;
      return `<rect x="${x}" y="${header - 16}" width="14" height="14" fill="${COLORS[sys]}"/><text x="${x + 20}" y="${header - 4}" font-size="12">${esc(SYSTEM_LABELS[sys])}</text>`;
    })
    .join('\n');
  const title = `Session pipeline benchmark, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${results.machine.cpus} cores, 1-min load avg ${results.loadAvg.before[0].toFixed(2)} at start, up to ${peakLoad(results).toFixed(2)}${results.quick ? ' (quick run)' : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="20" y="22" font-size="17" font-weight="bold">${esc(title)}</text>`,
    legend,
    barPanel({ x: 0, y: header, w: W, h: panelH }, 'Requests per second answered correctly (paced scenarios: target rate; max-*: as fast as possible)', 'ok req/s', scenarios, systems, (s, sys) => {
      const r = runOf(s, sys);
      return r ? { top: r.load.okRps } : undefined;
    }),
    barPanel({ x: 0, y: header + panelH, w: W, h: panelH }, 'Latency: p99 (light bar) and p50 (dark inner bar)', 'ms', scenarios, systems, (s, sys) => {
      const r = runOf(s, sys);
      return r ? { top: r.load.p99Ms, inner: r.load.p50Ms } : undefined;
    }),
    steady ? lagPanel({ x: 0, y: header + panelH * 2, w: W, h: 250 }, steady) : '',
    '</svg>',
  ].join('\n');
}
