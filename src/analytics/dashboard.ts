/**
 * The dashboard page and its assets. The charting library (uPlot, MIT, ~50 kB) is served from
 * node_modules by our own route: the machines are offline, so no CDN.
 */
import { join } from 'node:path';

interface AssetSource {
  readonly resolve: () => string;
  readonly contentType: string;
}

const local = (file: string) => () => join(import.meta.dir, 'dashboard', file);
const fromPackage = (specifier: string) => () => Bun.resolveSync(specifier, import.meta.dir);

const ASSETS: Readonly<Record<string, AssetSource>> = {
  'dashboard.js': { resolve: local('dashboard.js'), contentType: 'text/javascript; charset=utf-8' },
  'dashboard.css': { resolve: local('dashboard.css'), contentType: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { resolve: fromPackage('uplot/dist/uPlot.iife.min.js'), contentType: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { resolve: fromPackage('uplot/dist/uPlot.min.css'), contentType: 'text/css; charset=utf-8' },
};

export const DASHBOARD_ASSETS = Object.keys(ASSETS) as [string, ...string[]];

/** A known asset by file name (a fixed list: request input never becomes a path). */
export function dashboardAsset(file: string): { body: Blob; contentType: string } | undefined {
  const source = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
  if (source === undefined) return undefined;
  return { body: Bun.file(source.resolve()), contentType: source.contentType };
}

export function dashboardHtml(options: { refreshMs: number }): string {
  const refreshMs = Math.max(500, Math.floor(options.refreshMs));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Session latency dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/uPlot.min.css">
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head>
<body data-state="loading" data-refresh-ms="${refreshMs}">
<header>
  <h1>Session latency</h1>
  <label>Window
    <select id="window">
      <option value="15m">last 15 minutes</option>
      <option value="1h" selected>last hour</option>
      <option value="6h">last 6 hours</option>
      <option value="24h">last 24 hours</option>
    </select>
  </label>
  <span id="status" role="status">loading…</span>
</header>
<section class="tiles">
  <div class="tile"><div class="label">Events in window</div><div class="value" id="tile-events">–</div></div>
  <div class="tile"><div class="label">Last event received</div><div class="value" id="tile-last-received">–</div></div>
  <div class="tile"><div class="label">Pipeline lag p99 (latest minute)</div><div class="value" id="tile-lag">–</div></div>
  <div class="tile"><div class="label">Consumer lag (messages)</div><div class="value" id="tile-consumer-lag">–</div></div>
</section>
<main>
  <figure class="chart" id="chart-throughput" data-points="0">
    <figcaption>Accepted events/s <small>(by API receive time, distinct events landed in ClickHouse)</small></figcaption>
  </figure>
  <figure class="chart" id="chart-duration" data-points="0">
    <figcaption>Session duration p50 / p95 / p99 (ms) <small>(per-minute rollup, approximate quantiles)</small></figcaption>
  </figure>
  <figure class="chart" id="chart-pipeline-lag" data-points="0">
    <figcaption>Pipeline lag p50 / p99 (ms) <small>(API accepted → row in ClickHouse)</small></figcaption>
  </figure>
  <figure class="chart" id="chart-consumer-lag" data-points="0">
    <figcaption>Consumer lag (messages behind, per group) <small>(sampled by this page since it opened)</small></figcaption>
  </figure>
</main>
<script src="/dashboard/assets/uPlot.iife.min.js"></script>
<script src="/dashboard/assets/dashboard.js"></script>
</body>
</html>
`;
}
