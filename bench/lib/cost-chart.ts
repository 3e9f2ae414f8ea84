/**
 * Issue 11's cost curve as a self-contained SVG: CPU milliseconds per accepted event (left) and
 * p99 latency (right) against the offered rate, one line per system, both on log scales; the
 * idle share of a core of each system is written under the title. Pure.
 */
import { type CurvePoint, costCurve } from './cost.ts';
import { COLORS, logAxis } from './chart.ts';
import { type BenchResults, SYSTEM_LABELS, type SystemId } from './results.ts';

export const COST_CHART_WIDTH = 1200;
const ORDER: readonly SystemId[] = ['api', 'bare', 'sync-pg', 'node-kafkajs'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (v: number) => (v >= 100 ? String(Math.round(v)) : v >= 1 ? v.toFixed(1).replace(/\.0$/, '') : String(Number(v.toPrecision(2))));

function panel(x0: number, y0: number, w: number, h: number, title: string, unit: string, points: readonly CurvePoint[], pick: (p: CurvePoint) => number | null): string {
  const xs = [...new Set(points.map((p) => p.offered))].filter((o) => o !== 'idle');
  const values = points.map(pick).filter((v): v is number => v !== null && v > 0 && Number.isFinite(v));
  if (xs.length === 0 || values.length === 0) return '';
  const axis = logAxis(Math.min(...values), Math.max(...values));
  const left = x0 + 70, right = x0 + w - 20, top = y0 + 36, bottom = y0 + h - 40;
  const y = (v: number) => bottom - ((Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))) * (bottom - top);
  const x = (i: number) => left + ((i + 0.5) / xs.length) * (right - left);
  const out = [
    `<text x="${x0 + 10}" y="${y0 + 20}" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${x0 + 14}" y="${(top + bottom) / 2}" font-size="12" transform="rotate(-90 ${x0 + 14} ${(top + bottom) / 2})" text-anchor="middle">${esc(unit)} (log)</text>`,
  ];
  for (const t of axis.ticks) out.push(`<line x1="${left}" x2="${right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${y(t) + 4}" font-size="11" text-anchor="end">${label(t)}</text>`);
  xs.forEach((o, i) => out.push(`<text x="${x(i)}" y="${bottom + 18}" font-size="12" text-anchor="middle">${o === 'max' ? 'max' : `${o.toLocaleString('en-US')}/s`}</text>`));
  for (const sys of ORDER) {
    const pts = xs
      .map((o, i) => {
        const p = points.find((q) => q.system === sys && q.offered === o);
        const v = p ? pick(p) : null;
        return v !== null && v > 0 ? { px: x(i), py: y(v), v } : undefined;
      })
      .filter((p): p is { px: number; py: number; v: number } => p !== undefined);
    if (pts.length === 0) continue;
    out.push(`<polyline fill="none" stroke="${COLORS[sys]}" stroke-width="2.5" points="${pts.map((p) => `${p.px},${p.py}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${p.px}" cy="${p.py}" r="4" fill="${COLORS[sys]}"/><text x="${p.px + 6}" y="${p.py - 6}" font-size="10" fill="${COLORS[sys]}">${label(p.v)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  return out.join('\n');
}

/** undefined when the run has no cost-curve points. */
export function renderCostChartSvg(results: BenchResults): string | undefined {
  const points = costCurve(results.scenarios);
  if (!points.some((p) => p.offered !== 'idle')) return undefined;
  const W = COST_CHART_WIDTH, H = 440, header = 64;
  const systems = ORDER.filter((sys) => points.some((p) => p.system === sys));
  let lx = 20;
  const legend = systems.map((sys) => {
    const x = lx;
    lx += 34 + SYSTEM_LABELS[sys].length * 6.6;
    return `<rect x="${x}" y="${header - 16}" width="14" height="14" fill="${COLORS[sys]}"/><text x="${x + 20}" y="${header - 4}" font-size="12">${esc(SYSTEM_LABELS[sys])}</text>`;
  });
  const idle = points.filter((p) => p.offered === 'idle').map((p) => `${p.system} ${p.cores.toFixed(3)}`).join(', ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="20" y="22" font-size="17" font-weight="bold">${esc(`Cost curve, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC: each system with what it needs (API: both consumers, broker, both stores)`)}</text>`,
    idle ? `<text x="20" y="${header - 26}" font-size="12">${esc(`Idle, share of a core: ${idle}`)}</text>` : '',
    ...legend,
    panel(0, header, W / 2, H - header, 'CPU ms per accepted event', 'CPU ms / event', points, (p) => p.msPerEvent),
    panel(W / 2, header, W / 2, H - header, 'p99 latency (paced: latency corrected)', 'ms', points, (p) => p.p99Ms),
    '</svg>',
  ].join('\n');
}
