/** Writes a run's outputs: results.json, summary.md, chart.svg/png, and optionally the docs. */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_WIDTH, renderChartSvg } from './chart.ts';
import { svgToPng } from './chart-png.ts';
import { COST_CHART_WIDTH, renderCostChartSvg } from './cost-chart.ts';
import { renderMarkdown } from './report.ts';
import type { BenchResults } from './results.ts';
import { REPO } from './targets.ts';

export const DOCS_BEGIN = '<!-- bench:summary:begin (written by bun bench/run.ts --update-docs) -->';
export const DOCS_END = '<!-- bench:summary:end -->';

/** Replaces the text between the markers (markers kept); undefined when they are missing. */
export function replaceBetweenMarkers(text: string, block: string): string | undefined {
  const at = text.indexOf(DOCS_BEGIN);
  const until = text.indexOf(DOCS_END);
  if (at < 0 || until < at) return undefined;
  return `${text.slice(0, at)}${DOCS_BEGIN}\n${block}\n${text.slice(until)}`;
}

export async function writeOutputs(
  results: BenchResults,
  outDir: string,
  opts: { chart: boolean; updateDocs: boolean; log: (line: string) => void },
): Promise<{ summary: string; files: string[] }> {
  mkdirSync(outDir, { recursive: true });
  const files = ['results.json', 'summary.md'];
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  /** Writes <name>.svg and, when Chromium can render it, <name>.png; returns the file to show. */
  const chart = async (name: string, svg: string, width: number): Promise<string> => {
    writeFileSync(join(outDir, `${name}.svg`), svg);
    files.push(`${name}.svg`);
    try {
      await svgToPng(svg, join(outDir, `${name}.png`), width);
      files.push(`${name}.png`);
      return `${name}.png`;
    } catch (error) {
      opts.log(`${name}: no PNG (${String(error)}); ${name}.svg is there`);
      return `${name}.svg`;
    }
  };
  const chartFile = opts.chart && results.scenarios.some((s) => s.runs.length > 0) ? await chart('chart', renderChartSvg(results), CHART_WIDTH) : undefined;
  const costSvg = opts.chart ? renderCostChartSvg(results) : undefined;
  const costChartFile = costSvg ? await chart('cost', costSvg, COST_CHART_WIDTH) : undefined;
  const summary = renderMarkdown(results, { ...(chartFile ? { chartPath: chartFile } : {}), ...(costChartFile ? { costChartPath: costChartFile } : {}) });
  writeFileSync(join(outDir, 'summary.md'), `# Benchmark summary\n\n${summary}`);

  if (opts.updateDocs) {
    const docs = join(REPO, 'docs', 'performance.md');
    /** Copies a chart into docs/images/ under `name`; returns its path relative to docs/. */
    const toDocs = (file: string | undefined, name: string): string | undefined => {
      if (!file) return undefined;
      const image = `images/${name}${file.endsWith('.png') ? '.png' : '.svg'}`;
      mkdirSync(join(REPO, 'docs', 'images'), { recursive: true });
      copyFileSync(join(outDir, file), join(REPO, 'docs', image));
      return image;
    };
    const image = toDocs(chartFile, 'benchmark');
    const costImage = toDocs(costChartFile, 'cost-curve');
    const text = existsSync(docs) ? readFileSync(docs, 'utf8') : `# Performance\n\n${DOCS_BEGIN}\n${DOCS_END}\n`;
    const updated = replaceBetweenMarkers(text, renderMarkdown(results, { ...(image ? { chartPath: image } : {}), ...(costImage ? { costChartPath: costImage } : {}) }));
    if (updated === undefined) opts.log('docs/performance.md has no summary markers; not updated');
    else {
      writeFileSync(docs, updated);
      opts.log(`docs/performance.md updated${image ? `, chart in docs/${image}` : ''}`);
    }
  }
  return { summary, files };
}
