// The dashboard's script: plain browser JavaScript (served as-is), uPlot for the charts.
// It polls the analytics endpoints, redraws, and records what it drew in data-* attributes
// (body[data-state], figure[data-points]) so a browser test can check it.
/* global uPlot */
(() => {
  'use strict';

  const REFRESH_MS = Number(document.body.dataset.refreshMs) || 5000;
  /** Window -> bucket widths of the two series (the rollup is per minute). */
  const WINDOWS = {
    '15m': { seconds: 900, throughputStep: '10s', latencyStep: '1m' },
    '1h': { seconds: 3600, throughputStep: '10s', latencyStep: '1m' },
    '6h': { seconds: 21600, throughputStep: '1m', latencyStep: '5m' },
    '24h': { seconds: 86400, throughputStep: '5m', latencyStep: '15m' },
  };
  const MAX_LAG_SAMPLES = 720;
  const COLORS = ['#2f6fde', '#e8832a', '#c2255c', '#2b8a3e', '#7048e8', '#0c8599'];

  const $ = (id) => document.getElementById(id);
  const selectWindow = $('window');
  const params = new URLSearchParams(location.search);
  if (params.get('window') && WINDOWS[params.get('window')]) selectWindow.value = params.get('window');

  const charts = {};
  const lagSamples = { t: [], byGroup: new Map() };
  let refreshes = 0;
  let timer;

  const toSec = (iso) => Date.parse(iso) / 1000;
  const fmt = (n, unit = '') => (n === null || n === undefined ? '–' : `${Math.round(n).toLocaleString()}${unit}`);

  function widthOf(figure) {
    return Math.max(320, figure.clientWidth - 16);
  }

  /** Creates the chart on first data, then only swaps its data; `xRange` pins the window. */
  function draw(id, seriesDefs, data, xRange) {
    const figure = $(id);
    const points = data[0].length;
    figure.dataset.points = String(points);
    let empty = figure.querySelector('.empty');
    if (points === 0) {
      if (!empty) {
        empty = document.createElement('p');
        empty.className = 'empty';
        figure.appendChild(empty);
      }
      empty.textContent = 'No data in this window.';
    } else if (empty) {
      empty.remove();
    }
    const key = id + ':' + seriesDefs.map((s) => s.label).join('|');
    if (charts[id] && charts[id].key !== key) {
      charts[id].plot.destroy();
      delete charts[id];
    }
    if (!charts[id]) {
      const opts = {
        width: widthOf(figure),
        height: 260,
        scales: { x: { time: true } },
        series: [{}, ...seriesDefs.map((s, i) => ({ spanGaps: true, width: 2, stroke: COLORS[i % COLORS.length], ...s }))],
        axes: [{}, { size: 60 }],
        legend: { live: true },
      };
      charts[id] = { key, plot: new uPlot(opts, data, figure) };
    } else {
      charts[id].plot.setData(data);
    }
    // Show the whole window, so a stretch without data reads as a gap, not as a zoom.
    if (xRange) charts[id].plot.setScale('x', { min: xRange[0], max: xRange[1] });
  }

  // The analytics endpoints need an API key with the read scope. It comes from the page's
  // fragment (#key=..., never sent to the server) and is kept in this browser's localStorage.
  const KEY_STORE = 'session-pipeline.api-key';
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fromFragment) {
    localStorage.setItem(KEY_STORE, fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const apiKey = localStorage.getItem(KEY_STORE);

  async function getJson(url) {
    const headers = { accept: 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const response = await fetch(url, { headers });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && (body.detail || body.title);
      throw new Error(`${url.split('?')[0]}: HTTP ${response.status}${detail ? ` (${detail})` : ''}`);
    }
    return body;
  }

  function windowQuery(win, step) {
    const to = new Date(Math.ceil(Date.now() / 1000) * 1000);
    const from = new Date(to.getTime() - win.seconds * 1000);
    return `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&step=${step}`;
  }

  function renderThroughput(series) {
    const xs = series.points.map((p) => toSec(p.t));
    const range = [toSec(series.from), toSec(series.to)];
    draw('chart-throughput', [{ label: 'events/s', fill: 'rgba(47,111,222,0.12)' }], [xs, series.points.map((p) => p.eventsPerSecond)], range);
    const total = series.points.reduce((s, p) => s + p.events, 0);
    $('tile-events').textContent = fmt(total);
    $('tile-last-received').textContent = series.lastReceivedAt ? new Date(series.lastReceivedAt).toLocaleTimeString() : '–';
    return series.points.filter((p) => p.events > 0).length;
  }

  function renderLatency(series) {
    const pts = series.points;
    const xs = pts.map((p) => toSec(p.t));
    const range = [toSec(series.from), toSec(series.to)];
    draw(
      'chart-duration',
      [{ label: 'p50' }, { label: 'p95' }, { label: 'p99' }],
      [xs, pts.map((p) => p.durationMs.p50), pts.map((p) => p.durationMs.p95), pts.map((p) => p.durationMs.p99)],
      range,
    );
    draw(
      'chart-pipeline-lag',
      [{ label: 'p50' }, { label: 'p99' }],
      [xs, pts.map((p) => p.pipelineLagMs.p50), pts.map((p) => p.pipelineLagMs.p99)],
      range,
    );
    const last = pts[pts.length - 1];
    $('tile-lag').textContent = last ? fmt(last.pipelineLagMs.p99, ' ms') : '–';
    return pts.length;
  }

  function renderConsumerLag(answer) {
    const figure = $('chart-consumer-lag');
    figure.dataset.available = String(answer.available);
    if (!answer.available) {
      figure.dataset.points = '0';
      let note = figure.querySelector('.empty');
      if (!note) {
        note = document.createElement('p');
        note.className = 'empty';
        figure.appendChild(note);
      }
      note.textContent = `Consumer lag is not measured by this server: ${answer.reason}.`;
      $('tile-consumer-lag').textContent = 'n/a';
      return;
    }
    lagSamples.t.push(toSec(answer.at));
    for (const g of answer.groups) {
      if (!lagSamples.byGroup.has(g.groupId)) lagSamples.byGroup.set(g.groupId, lagSamples.t.slice(0, -1).map(() => null));
    }
    for (const [groupId, values] of lagSamples.byGroup) {
      const g = answer.groups.find((x) => x.groupId === groupId);
      values.push(g ? g.lag : null);
    }
    if (lagSamples.t.length > MAX_LAG_SAMPLES) {
      lagSamples.t.shift();
      for (const values of lagSamples.byGroup.values()) values.shift();
    }
    const groups = [...lagSamples.byGroup.keys()];
    draw('chart-consumer-lag', groups.map((label) => ({ label })), [lagSamples.t, ...groups.map((g) => lagSamples.byGroup.get(g))]);
    $('tile-consumer-lag').textContent = fmt(answer.groups.reduce((s, g) => s + g.lag, 0));
  }

  async function refresh() {
    const win = WINDOWS[selectWindow.value] || WINDOWS['1h'];
    const started = performance.now();
    try {
      const [throughput, latency, lag] = await Promise.all([
        getJson(`/analytics/throughput?${windowQuery(win, win.throughputStep)}`),
        getJson(`/analytics/latency?${windowQuery(win, win.latencyStep)}`),
        getJson('/analytics/consumer-lag').catch((error) => ({ available: false, reason: error.message })),
      ]);
      const throughputBuckets = renderThroughput(throughput);
      const latencyBuckets = renderLatency(latency);
      renderConsumerLag(lag);
      refreshes += 1;
      document.body.dataset.points = String(throughputBuckets + latencyBuckets);
      document.body.dataset.refreshes = String(refreshes);
      document.body.dataset.state = 'ready';
      $('status').textContent = `updated ${new Date().toLocaleTimeString()} in ${Math.round(performance.now() - started)} ms · every ${REFRESH_MS / 1000} s`;
    } catch (error) {
      document.body.dataset.state = 'error';
      $('status').textContent = `refresh failed: ${error.message} (retrying every ${REFRESH_MS / 1000} s)`;
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      await refresh();
      schedule();
    }, REFRESH_MS);
  }

  selectWindow.addEventListener('change', () => {
    refresh().then(schedule);
  });
  window.addEventListener('resize', () => {
    for (const id of Object.keys(charts)) charts[id].plot.setSize({ width: widthOf($(id)), height: 260 });
  });
  refresh().then(schedule);
})();
