/**
 * Write-path benchmark (issue 3): POST /sessions/:id/complete against the bare Bun.serve
 * ceiling, same load tool (oha), same run, with the real broker (acks=all) behind the API.
 *
 *   bun bench/write-path.ts [--quick] [--out DIR]
 *
 * Scenarios: closed-loop maximum throughput at 64 and 256 connections (bare, then API), the
 * seed's 333 req/s paced, and a paced run at the 25,000 req/s goal to read p99 at that rate.
 * Reports req/s, latency percentiles, non-2xx answers, CPU seconds and peak RSS per process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createKafka } from '../src/kafka/client.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { servicePaths } from '../stack/paths.ts';
import { consoleStackLog, startStack } from '../stack/index.ts';
import { type LoadResult, ensureOha, runOha } from './lib/oha.ts';
import { ResourceWatch } from './lib/proc.ts';
import { REPO, type Target, startTarget } from './lib/targets.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outDir = args.includes('--out') ? (args[args.indexOf('--out') + 1] ?? '') : join(REPO, 'bench', 'results');
const D = quick ? { max: 10, seed: 15, paced: 10 } : { max: 30, seed: 60, paced: 20 };
const log = (line: string) => console.error(`[bench] ${line}`);

const config = loadConfig(process.env);
await startStack(config, consoleStackLog('[stack]'));
const oha = await ensureOha(log);

const topic = `bench.write.${Date.now().toString(36)}`;
const admin = createKafka(config, silentLogger(), '-bench').admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: config.KAFKA_TOPIC_PARTITIONS }], waitForLeaders: true });

const kafkaPid = Number(readFileSync(servicePaths(config, 'kafka').pidFile, 'utf8').trim());
const at = new Date(Date.now() - 60_000).toISOString();
const body = JSON.stringify({ userId: 'bench-user', startedAt: at, completedAt: at, score: 12.5, outcome: 'completed' });
const post = (base: string) => ({
  url: `${base}/sessions/[a-z0-9]{16}/complete`,
  urlRegex: true,
  method: 'POST' as const,
  headers: { 'content-type': 'application/json' },
  body,
});

interface Row {
  scenario: string;
  system: string;
  connections: number;
  qps?: number;
  durationS: number;
  result: LoadResult;
  resources: Record<string, { cpuSeconds: number; peakRssMb: number }>;
}
const rows: Row[] = [];

async function measure(
  scenario: string,
  target: Target,
  spec: { connections: number; durationS: number; qps?: number },
): Promise<LoadResult> {
  const pids = new Map([[target.name, target.pid]]);
  if (target.name === 'api') pids.set('kafka', kafkaPid);
  const watch = new ResourceWatch(pids);
  watch.start();
  const result = await runOha(oha, { ...post(target.url), ...spec });
  const resources = watch.stop();
  rows.push({ scenario, system: target.name, ...spec, result, resources });
  log(
    `${scenario.padEnd(10)} ${target.name.padEnd(5)} c=${spec.connections}${spec.qps ? ` q=${spec.qps}` : ''}: ` +
      `${result.rps} req/s p50 ${result.p50Ms} ms p99 ${result.p99Ms} ms p99.9 ${result.p999Ms} ms non-2xx ${result.non2xx} errors ${JSON.stringify(result.errors)}`,
  );
  return result;
}

const barePort = 3901;
const apiPort = 3902;
const startBare = () =>
  startTarget('bare', [process.execPath, 'bench/baselines/bare-bun.ts', String(barePort)], {
    url: `http://127.0.0.1:${barePort}`,
    readyPath: '/',
  });
const startApi = () =>
  startTarget('api', [process.execPath, 'src/server.ts'], {
    url: `http://127.0.0.1:${apiPort}`,
    readyPath: '/readyz',
    env: { HTTP_PORT: String(apiPort), KAFKA_TOPIC: topic, LOG_LEVEL: 'warn', API_WORKERS: '1' },
  });

// Warm both (JIT, producer metadata) before measuring.
for (const start of [startBare, startApi]) {
  const t = await start();
  await runOha(oha, { ...post(t.url), connections: 16, durationS: 3 });
  await t.stop();
}

for (const connections of [64, 256]) {
  const bare = await startBare();
  await measure('max', bare, { connections, durationS: D.max });
  await bare.stop();
  const api = await startApi();
  await measure('max', api, { connections, durationS: D.max });
  await api.stop();
}
{
  const bare = await startBare();
  await measure('seed-333', bare, { connections: 16, durationS: D.seed, qps: 333 });
  await bare.stop();
  const api = await startApi();
  await measure('seed-333', api, { connections: 16, durationS: D.seed, qps: 333 });
  await measure('paced-25k', api, { connections: 256, durationS: D.paced, qps: 25_000 });
  await api.stop();
}
await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
await admin.disconnect();

// ---- report
const find = (scenario: string, system: string, connections?: number) =>
  rows.find((r) => r.scenario === scenario && r.system === system && (connections === undefined || r.connections === connections));
const ratios = [64, 256].map((c) => {
  const bare = find('max', 'bare', c);
  const api = find('max', 'api', c);
  return { connections: c, apiRps: api?.result.rps ?? 0, bareRps: bare?.result.rps ?? 0, ratio: api && bare ? Math.round((api.result.rps / bare.result.rps) * 100) / 100 : 0 };
});
const best = ratios.reduce((a, b) => (b.apiRps > a.apiRps ? b : a));
const seedApi = find('seed-333', 'api');
const paced = find('paced-25k', 'api');
const goals = [
  { goal: 'durable req/s >= 0.35x bare ceiling', value: `${best.ratio}x (c=${best.connections})`, met: best.ratio >= 0.35 },
  { goal: 'durable req/s >= 25,000', value: String(best.apiRps), met: best.apiRps >= 25_000 },
  {
    goal: 'p99 < 25 ms at 25,000 req/s paced',
    value: paced ? `${paced.result.p99Ms} ms at ${paced.result.rps} req/s achieved` : 'n/a',
    met: !!paced && paced.result.p99Ms < 25 && paced.result.rps >= 24_000,
  },
  { goal: 'p99 < 10 ms at 333 req/s', value: seedApi ? `${seedApi.result.p99Ms} ms` : 'n/a', met: !!seedApi && seedApi.result.p99Ms < 10 },
  {
    goal: 'no non-2xx answer to a valid request',
    value: String(rows.filter((r) => r.system === 'api').reduce((a, r) => a + r.result.non2xx, 0)),
    met: rows.filter((r) => r.system === 'api').every((r) => r.result.non2xx === 0),
  },
];

const machine = { cpus: navigator.hardwareConcurrency, bun: Bun.version, when: new Date().toISOString(), quick };
const md = [
  `# Write path benchmark (${machine.when}, ${machine.cpus} cores, Bun ${machine.bun}${quick ? ', quick' : ''})`,
  '',
  '| scenario | system | conns | target q/s | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | CPU s (proc) | peak RSS MB |',
  '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.system} | ${r.connections} | ${r.qps ?? 'max'} | ${r.result.rps} | ${r.result.p50Ms} | ${r.result.p99Ms} | ${r.result.p999Ms} | ${r.result.non2xx} | ${Object.entries(r.resources).map(([k, v]) => `${k} ${v.cpuSeconds}`).join(', ')} | ${Object.entries(r.resources).map(([k, v]) => `${k} ${v.peakRssMb}`).join(', ')} |`,
  ),
  '',
  '| connections | API req/s | bare req/s | API / bare |',
  '| --: | --: | --: | --: |',
  ...ratios.map((r) => `| ${r.connections} | ${r.apiRps} | ${r.bareRps} | ${r.ratio}x |`),
  '',
  '| goal | measured | met |',
  '| --- | --- | --- |',
  ...goals.map((g) => `| ${g.goal} | ${g.value} | ${g.met ? 'yes' : 'NO'} |`),
  '',
].join('\n');

mkdirSync(outDir, { recursive: true });
const stamp = machine.when.replace(/[:.]/g, '-');
writeFileSync(join(outDir, `write-path-${stamp}.json`), JSON.stringify({ machine, rows, ratios, goals }, null, 2));
writeFileSync(join(outDir, `write-path-${stamp}.md`), md);
console.log(md);
log(`results in ${outDir}/write-path-${stamp}.{json,md}`);
process.exit(0);
