/** Writes a run's outputs: results.json, summary.md, chart.svg/png, and optionally the docs. */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_WIDTH, renderChartSvg } from './chart.ts';
import { svgToPng } from './chart-png.ts';
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
  let chartFile: string | undefined;
  if (opts.chart && results.scenarios.some((s) => s.runs.length > 0)) {
    const svg = renderChartSvg(results);
    writeFileSync(join(outDir, 'chart.svg'), svg);
    files.push('chart.svg');
    try {
      await svgToPng(svg, join(outDir, 'chart.png'), CHART_WIDTH);
      chartFile = 'chart.png';
      files.push('chart.png');
    } catch (error) {
      opts.log(`chart: no PNG (${String(error)}); chart.svg is there`);
      chartFile = 'chart.svg';
    }
  }
  const summary = renderMarkdown(results, chartFile ? { chartPath: chartFile } : {});
  writeFileSync(join(outDir, 'summary.md'), `# Benchmark summary\n\n${summary}`);

  if (opts.updateDocs) {
    const docs = join(REPO, 'docs', 'performance.md');
    let image: string | undefined;
    if (chartFile) {
      image = `images/benchmark${chartFile.endsWith('.png') ? '.png' : '.svg'}`;
      mkdirSync(join(REPO, 'docs', 'images'), { recursive: true });
      copyFileSync(join(outDir, chartFile), join(REPO, 'docs', image));
    }
    const text = existsSync(docs) ? readFileSync(docs, 'utf8') : `# Performance\n\n${DOCS_BEGIN}\n${DOCS_END}\n`;
    const updated = replaceBetweenMarkers(text, renderMarkdown(results, image ? { chartPath: image } : {}));
    if (updated === undefined) opts.log('docs/performance.md has no summary markers; not updated');
    else {
      writeFileSync(docs, updated);
      opts.log(`docs/performance.md updated${image ? `, chart in docs/${image}` : ''}`);
    }
  }
  return { summary, files };
}
