/**
 * The Helm chart (deploy/helm/session-pipeline), checked without a cluster. It lints and renders
 * with the default and the production-like values, every rendered object decodes strictly into its
 * Kubernetes type (manifest-check, deploy/helm/check), and the rendered manifests agree with the
 * code they deploy: every variable exists in the configuration schema and parses with it, probes
 * hit paths the processes serve, consumers never outnumber the topic's partitions, every container
 * has requests, and grace periods cover the drain. In the int tier because the first run builds
 * helm from source (minutes); it needs none of the stack's services.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import YAML from 'yaml';
import { startHealthServer } from '../../../consumers/runtime/http.ts';
import { PUBLIC_KEY_HASHES } from '../../../src/kernel/api-keys.ts';
import { CONFIG_KEYS, loadConfig } from '../../../src/kernel/config.ts';
import { judgeDurability } from '../../../src/kernel/kafka/topic-durability.ts';
import { repoRoot, spawnBun, waitFor } from '../../support/process.ts';
import {
  allContainers,
  buildTools,
  byKind,
  CHART,
  type Container,
  find,
  isAppContainer,
  type K8sObject,
  PRODUCTION_VALUES,
  podSpec,
  type Rendered,
  render,
  run,
  type Tools,
} from './chart.ts';

/**
 * Variables of src/kernel/config.ts a cluster never sets: the native stack's own settings (README,
 * "Configuration") and API_WORKER_INDEX, which the API supervisor sets on its own workers.
 */
const NOT_FOR_THE_CHART = new Set([
  'STACK_DIR',
  'KAFKA_PORT',
  'KAFKA_CONTROLLER_PORT',
  'KAFKA_HEAP',
  'KAFKA_TUNING',
  'PG_PORT',
  'CLICKHOUSE_HTTP_PORT',
  'CLICKHOUSE_TCP_PORT',
  'STACK_START_TIMEOUT_MS',
  'PG_PASSWORD', // only in the default DATABASE_URL, which points at the native stack
  'PG_LOG_MIN_DURATION_MS',
  'AUTO_INSTALL',
  'API_WORKER_INDEX',
  'NICE_AFTER_START', // set by the project's supervisor for a low-priority start; Kubernetes has CPU requests
]);
/** The secret settings: in the chart's Secret (or the user's existingSecret), not the ConfigMap. */
const SECRET_KEYS = ['API_KEYS', 'DATABASE_URL', 'READ_DATABASE_URL', 'CLICKHOUSE_PASSWORD', 'CLICKHOUSE_READ_PASSWORD'];
/** Each process the chart runs, by entry point: which variable holds its health/metrics port. */
const PORT_VARIABLE: Readonly<Record<string, string>> = {
  'src/server.ts': 'HTTP_PORT',
  'consumers/postgres/main.ts': 'PG_CONSUMER_METRICS_PORT',
  'consumers/clickhouse/main.ts': 'CH_CONSUMER_METRICS_PORT',
};
const GROUP_VARIABLE: Readonly<Record<string, string>> = {
  'consumers/postgres/main.ts': 'PG_CONSUMER_GROUP',
  'consumers/clickhouse/main.ts': 'CH_CONSUMER_GROUP',
};
/** One build on an empty Go cache took about 6 minutes on a 2-core machine; this is a backstop. */
const BUILD_TIMEOUT_MS = 25 * 60_000;

let tools: Tools;
const renders: Record<string, Rendered> = {};
const VALUE_SETS: Readonly<Record<string, readonly string[]>> = {
  default: [],
  production: ['-f', PRODUCTION_VALUES],
};

beforeAll(async () => {
  tools = await buildTools();
  for (const [name, args] of Object.entries(VALUE_SETS)) renders[name] = await render(tools, args);
}, BUILD_TIMEOUT_MS);

const rendered = (name: string): Rendered => {
  const r = renders[name];
  if (r === undefined) throw new Error(`no render ${name}`);
  return r;
};

/** The settings every app container of a render gets: its ConfigMap and (when rendered) Secret. */
function settingsOf(r: Rendered, c: Container): { names: string[]; values: Record<string, string> } {
  const names = (c.env ?? []).map((e) => e.name);
  const values: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (ref === undefined) throw new Error(`container ${c.name}: envFrom with neither a ConfigMap nor a Secret`);
    const source = find(r, from.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
    // A secret the chart does not make (secrets.existingSecret) holds the documented secret keys.
    const data = source === undefined ? Object.fromEntries(SECRET_KEYS.map((k) => [k, ''])) : { ...source.data, ...source.stringData };
    for (const [k, v] of Object.entries(data)) {
      names.push(k);
      if (v !== '') values[k] = v;
    }
  }
  return { names, values };
}

const entryOf = (c: Container): string => c.command?.[1] ?? '';
const workloads = (r: Rendered) => r.objects.filter((o) => podSpec(o) !== undefined);
const appContainers = (r: Rendered) => workloads(r).flatMap((o) => allContainers(o).filter(isAppContainer).map((c) => ({ o, c })));
const configOf = (r: Rendered, c: Container) => loadConfig(settingsOf(r, c).values);

describe('chart lints and decodes strictly', () => {
  test('helm lint --strict passes with the default and the production-like values', async () => {
    for (const args of Object.values(VALUE_SETS)) {
      const r = await run([tools.helm, 'lint', '--strict', CHART, ...args]);
      expect(`${r.stdout}${r.stderr}`).toContain('0 chart(s) failed');
      expect(r.code).toBe(0);
    }
  });

  test('every rendered object decodes strictly into its Kubernetes type', async () => {
    for (const name of Object.keys(VALUE_SETS)) {
      const r = await run([tools.manifestCheck], rendered(name).text);
      expect(r.stdout).toContain(`${rendered(name).objects.length} objects checked, 0 failed`);
      expect(r.code).toBe(0);
    }
  });

  test('the strict decode fails on a misspelled field, a wrong-case field, a bad quantity, an unknown KEDA setting and a bad scrape duration', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['default', 'readinessProbe:', 'readinesProbe:', 'unknown field'],
      ['default', 'terminationGracePeriodSeconds:', 'TerminationGracePeriodSeconds:', 'unknown field'],
      ['default', 'memory: 192Mi', 'memory: 192MB', 'quantities must match'],
      ['production', 'lagThreshold:', 'lagTreshold:', 'not a kafka scaler setting'],
      ['production', 'scrapeTimeout: 10s', 'scrapeTimeout: 10 seconds', 'not a Prometheus duration'],
    ];
    for (const [name, from, to, message] of cases) {
      const text = rendered(name).text;
      expect(text).toContain(from);
      const r = await run([tools.manifestCheck], text.replace(from, to));
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(message);
    }
  });
});

describe.each(Object.keys(VALUE_SETS))('%s values: the manifests agree with the code', (name) => {
  test('every variable an app container gets exists in src/kernel/config.ts, is not the native stack\'s, and parses', () => {
    const r = rendered(name);
    const found = appContainers(r);
    expect(found.length).toBeGreaterThanOrEqual(4); // API, two consumers, migrations
    for (const { o, c } of found) {
      const { names } = settingsOf(r, c);
      const where = `${o.kind}/${o.metadata.name} container ${c.name}`;
      expect({ where, unknown: names.filter((n) => !CONFIG_KEYS.includes(n)) }).toEqual({ where, unknown: [] });
      expect({ where, stackOnly: names.filter((n) => NOT_FOR_THE_CHART.has(n)) }).toEqual({ where, stackOnly: [] });
      // The application's own schema accepts the values (a bad one throws, naming the variable).
      expect(() => configOf(r, c)).not.toThrow();
    }
    // The other image (Kafka's topic tool) gets no environment at all.
    for (const o of workloads(r)) {
      for (const c of allContainers(o).filter((x) => !isAppContainer(x))) {
        expect({ container: c.name, env: c.env, envFrom: c.envFrom }).toEqual({ container: c.name, env: undefined, envFrom: undefined });
      }
    }
  });

  test('the chart runs entry points that exist, and each listens where the config says', () => {
    for (const { o, c } of appContainers(rendered(name))) {
      expect(existsSync(join(repoRoot, entryOf(c)))).toBe(true);
      const portVariable = PORT_VARIABLE[entryOf(c)];
      if (portVariable === undefined) continue; // the migration job serves nothing
      const port = (configOf(rendered(name), c) as unknown as Record<string, number>)[portVariable];
      const probes = [c.readinessProbe, c.livenessProbe, c.startupProbe];
      expect({ where: o.metadata.name, probes: probes.filter((p) => p === undefined).length }).toEqual({ where: o.metadata.name, probes: 0 });
      for (const p of probes) {
        const named = c.ports?.find((x) => x.name === p?.httpGet?.port || x.containerPort === p?.httpGet?.port);
        expect({ where: o.metadata.name, port: named?.containerPort }).toEqual({ where: o.metadata.name, port });
      }
    }
  });

  test('consumers never scale beyond the topic\'s partition count, and KEDA watches their own group', () => {
    const r = rendered(name);
    let scalers = 0;
    for (const { o, c } of appContainers(r)) {
      const groupVariable = GROUP_VARIABLE[entryOf(c)];
      if (groupVariable === undefined) continue;
      const config = configOf(r, c) as unknown as Record<string, string | number | string[]>;
      const partitions = config['KAFKA_TOPIC_PARTITIONS'] as number;
      const replicas = (o.spec as { replicas?: number }).replicas;
      if (replicas !== undefined) expect(replicas).toBeLessThanOrEqual(partitions);
      const scaledObject = byKind(r, 'ScaledObject').find((s) => (s.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === o.metadata.name);
      const hpa = byKind(r, 'HorizontalPodAutoscaler').find((h) => (h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === o.metadata.name);
      if (scaledObject !== undefined) {
        scalers++;
        const spec = scaledObject.spec as { maxReplicaCount?: number; triggers: Array<{ type: string; metadata: Record<string, string> }> };
        expect(spec.maxReplicaCount).toBeDefined();
        expect(spec.maxReplicaCount ?? Infinity).toBeLessThanOrEqual(partitions);
        const kafka = spec.triggers.find((t) => t.type === 'kafka');
        expect(kafka?.metadata).toMatchObject({
          consumerGroup: config[groupVariable],
          topic: config['KAFKA_TOPIC'],
          bootstrapServers: (config['KAFKA_BROKERS'] as string[]).join(','),
        });
      }
      if (hpa !== undefined) {
        scalers++;
        expect((hpa.spec as { maxReplicas: number }).maxReplicas).toBeLessThanOrEqual(partitions);
      }
    }
    expect(scalers).toBe(2); // one scaler per consumer in both values sets
  });

  test('every container has cpu and memory requests and a memory limit', () => {
    for (const o of workloads(rendered(name))) {
      for (const c of allContainers(o)) {
        const resources = { where: `${o.metadata.name}/${c.name}`, cpu: c.resources?.requests?.['cpu'] !== undefined, memory: c.resources?.requests?.['memory'] !== undefined, memoryLimit: c.resources?.limits?.['memory'] !== undefined };
        expect(resources).toEqual({ where: resources.where, cpu: true, memory: true, memoryLimit: true });
      }
    }
  });

  test('grace periods cover the drain: preStop sleep + the API\'s hard stop, the consumers\' deadline', () => {
    for (const { o, c } of appContainers(rendered(name))) {
      if (o.kind !== 'Deployment') continue;
      const shutdownS = configOf(rendered(name), c).SHUTDOWN_TIMEOUT_MS / 1000;
      const grace = podSpec(o)?.terminationGracePeriodSeconds ?? 30;
      if (entryOf(c) === 'src/server.ts') {
        const preStop = c.lifecycle?.preStop?.exec?.command;
        expect(preStop?.[0]).toBe('sleep');
        // The API's hard stop is at twice SHUTDOWN_TIMEOUT_MS (src/server.ts).
        expect(grace).toBeGreaterThan(Number(preStop?.[1]) + 2 * shutdownS);
      } else {
        expect(grace).toBeGreaterThan(shutdownS);
      }
    }
  });

  test('migrations and topics run as pre-install/pre-upgrade hooks, topics first, replication 3 and min ISR 2', () => {
    const jobs = byKind(rendered(name), 'Job');
    const hook = (suffix: string) => jobs.find((j) => j.metadata.name.endsWith(suffix))?.metadata.annotations ?? {};
    expect(hook('-migrate')['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(hook('-topics')['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(Number(hook('-topics')['helm.sh/hook-weight'])).toBeLessThan(Number(hook('-migrate')['helm.sh/hook-weight']));
    const topics = jobs.find((j) => j.metadata.name.endsWith('-topics'));
    const args = topics === undefined ? [] : (podSpec(topics)?.containers[0]?.command ?? []);
    // ... topic, partitions, dlq, dlq partitions, replication factor, min ISR, retention
    expect(args.slice(-3, -1)).toEqual(['3', '2']);
  });
});

describe('values reach every setting, and the chart refuses what cannot work', () => {
  test('every variable of src/kernel/config.ts the API and the consumers read is a key of values.yaml (config or secrets)', () => {
    const values = YAML.parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { config: Record<string, unknown>; secrets: Record<string, unknown> };
    const reachable = new Set([...Object.keys(values.config), ...SECRET_KEYS.filter((k) => k in values.secrets)]);
    const wanted = CONFIG_KEYS.filter((k) => !NOT_FOR_THE_CHART.has(k));
    expect(wanted.filter((k) => !reachable.has(k))).toEqual([]);
    expect([...reachable].filter((k) => !CONFIG_KEYS.includes(k))).toEqual([]);
    expect(Object.keys(values.config).filter((k) => SECRET_KEYS.includes(k))).toEqual([]);
  });

  test('values.schema.json lists the same settings as values.yaml, so a misspelled value or variable does not render', async () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as {
      properties: Record<string, { properties: Record<string, unknown> }>;
    };
    const values = YAML.parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    for (const section of ['config', 'secrets']) {
      expect(Object.keys(schema.properties[section]?.properties ?? {}).sort()).toEqual(Object.keys(values[section] ?? {}).sort());
    }
    for (const [value, message] of [
      ['config.KAFKA_BROKER=x', "additional properties 'KAFKA_BROKER' not allowed"],
      ['consumers.autoscalr=keda', "additional properties 'autoscalr' not allowed"],
    ] as const) {
      const r = await run([tools.helm, 'template', 'sp', CHART, '--set', value]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
    }
  });

  test('a consumer maxReplicas above the partition count does not render', async () => {
    const tooMany = await run([tools.helm, 'template', 'sp', CHART, '--set', 'consumers.postgres.maxReplicas=7']);
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toContain('consumers.postgres.maxReplicas=7 exceeds KAFKA_TOPIC_PARTITIONS=6');
    // Fewer partitions than production's explicit clickhouse maxReplicas (6).
    const fewer = await run([tools.helm, 'template', 'sp', CHART, '-f', PRODUCTION_VALUES, '--set-string', 'config.KAFKA_TOPIC_PARTITIONS=4']);
    expect(fewer.code).not.toBe(0);
    expect(fewer.stderr).toContain('consumers.clickhouse.maxReplicas=6 exceeds KAFKA_TOPIC_PARTITIONS=4');
  });

  test('an API key whose secret is public (the API refuses it in production) does not render', async () => {
    expect(PUBLIC_KEY_HASHES.size).toBeGreaterThan(0);
    for (const hash of PUBLIC_KEY_HASHES) {
      const r = await run([tools.helm, 'template', 'sp', CHART, '--set-string', `secrets.API_KEYS=mine:ingest:${'a'.repeat(64)}\\,demo:ingest+read:${hash}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`secrets.API_KEYS holds a key whose secret is public (hash ${hash}`);
    }
  });

  test('the topic job makes only topics the processes accept in production (judgeDurability), unless KAFKA_ALLOW_UNREPLICATED', async () => {
    for (const [rf, minIsr] of [[1, 1], [3, 1], [2, 2], [3, 2]] as const) {
      const args = ['template', 'sp', CHART, '--set', `topics.replicationFactor=${rf}`, '--set', `topics.minInsyncReplicas=${minIsr}`];
      const accepted = judgeDurability({ topic: 't', replicationFactor: rf, minInsyncReplicas: minIsr, uncleanLeaderElection: false }).ok;
      const r = await run([tools.helm, ...args]);
      expect({ rf, minIsr, renders: r.code === 0 }).toEqual({ rf, minIsr, renders: accepted });
      if (!accepted) expect(r.stderr).toContain('the API and consumers refuse such a topic in production');
      const allowed = await run([tools.helm, ...args, '--set-string', 'config.KAFKA_ALLOW_UNREPLICATED=true']);
      expect({ rf, minIsr, allowedRenders: allowed.code === 0 }).toEqual({ rf, minIsr, allowedRenders: true });
    }
  });

  test('api.imageTag keeps the API on its version while consumers and migrations move (consumers first)', async () => {
    const pinned = await render(tools, ['--set', 'image.tag=2.0.0', '--set', 'api.imageTag=1.0.0']);
    const images = Object.fromEntries(appContainers(pinned).map(({ c }) => [entryOf(c), c.image.split(':').at(-1)]));
    expect(images).toEqual({
      'src/server.ts': '1.0.0',
      'consumers/postgres/main.ts': '2.0.0',
      'consumers/clickhouse/main.ts': '2.0.0',
      'scripts/migrate.ts': '2.0.0',
    });
  });

  test('an unquoted large number in config does not render (Helm would print it as 6.048e+08)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'values.yaml');
    writeFileSync(file, 'config:\n  KAFKA_TOPIC_RETENTION_MS: 604800000\n');
    const r = await run([tools.helm, 'template', 'sp', CHART, '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('config.KAFKA_TOPIC_RETENTION_MS: quote the value');
  });
});

describe('probe paths are served by the processes the chart runs', () => {
  const probePaths = (entry: string) =>
    new Set(
      Object.values(renders)
        .flatMap((r) => appContainers(r).map(({ c }) => c))
        .filter((c) => entryOf(c) === entry)
        .flatMap((c) => [c.readinessProbe, c.livenessProbe, c.startupProbe].map((p) => p?.httpGet?.path ?? '(none)')),
    );

  test('the API (bun src/server.ts, no broker) answers its probe paths, and 404 to others', async () => {
    const paths = probePaths('src/server.ts');
    expect(paths.size).toBeGreaterThan(0);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const api = spawnBun('src/server.ts', { HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), API_WORKERS: '1', KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'silent' });
    try {
      const status = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
      await waitFor('the API to listen', async () => (await status('/healthz')) === 200);
      expect(await status('/no-such-probe')).toBe(404);
      for (const path of paths) {
        // /readyz answers 503 here (no broker): served, just not ready.
        const answer = await status(path);
        expect({ path, served: answer === 200 || answer === 503 }).toEqual({ path, served: true });
      }
    } finally {
      api.kill('SIGTERM');
      await api.exited;
    }
  });

  test('the consumers\' health server (consumers/runtime/http.ts) answers their probe paths', async () => {
    const paths = new Set([...probePaths('consumers/postgres/main.ts'), ...probePaths('consumers/clickhouse/main.ts')]);
    expect(paths.size).toBeGreaterThan(0);
    const server = startHealthServer({ hostname: '127.0.0.1', port: 0, registry: new Registry(), isReady: async () => true, isLive: () => true });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/no-such-probe`)).status).toBe(404);
      for (const path of paths) {
        expect({ path, status: (await fetch(`http://127.0.0.1:${server.port}${path}`)).status }).toEqual({ path, status: 200 });
      }
    } finally {
      await server.stop();
    }
  });
});

// Kept here so a reader sees which objects the renders are expected to hold.
test('each values set renders the objects it should', () => {
  const kinds = (name: string) => [...new Set(rendered(name).objects.map((o: K8sObject) => o.kind))].sort();
  expect(kinds('default')).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceAccount']);
  expect(kinds('production')).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'ScaledObject', 'Service', 'ServiceAccount', 'ServiceMonitor']);
});
