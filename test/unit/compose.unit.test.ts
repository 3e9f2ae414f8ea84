/**
 * compose.yaml cannot run on the machines of this project (no Docker engine), so this test keeps
 * it honest: its ports and settings must equal the native stack's (src/kernel/config.ts STACK_DEFAULTS,
 * stack/kafka.ts, stack/postgres.ts), its app environment must parse with the real config
 * schema, and every entry point it runs must exist.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { CONFIG_KEYS, loadConfig, STACK_DEFAULTS } from '../../src/kernel/config.ts';
import { KAFKA_SINGLE_NODE_SETTINGS } from '../../stack/kafka.ts';
import { REPO_ROOT } from '../../stack/paths.ts';
import { PG_REQUIRED_SETTINGS, pgTarget } from '../../stack/postgres.ts';
import { emptyStackDir } from '../support/hermetic-config.ts';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }> | string[];
}
const compose = YAML.parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
  'x-app-env': Record<string, string>;
};
// The native stack's defaults without any generated passwords (support/hermetic-config.ts).
const defaults = loadConfig({ STACK_DIR: emptyStackDir() });
const service = (name: string): Service => {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`compose.yaml has no service ${name}`);
  return s;
};
/** "127.0.0.1:19092:19092" -> { host: 19092, container: 19092, ip: '127.0.0.1' } */
const published = (s: Service) =>
  (s.ports ?? []).map((p) => {
    const parts = p.split(':');
    return { ip: parts.length === 3 ? parts[0] : undefined, host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
const env = (s: Service) => s.environment ?? {};

describe('compose.yaml matches the native stack', () => {
  test('published host ports equal STACK_DEFAULTS, data services on 127.0.0.1 only', () => {
    const hostPorts = (name: string) => published(service(name)).map((p) => p.host);
    expect(hostPorts('kafka')).toEqual([STACK_DEFAULTS.KAFKA_PORT]);
    expect(hostPorts('postgres')).toEqual([STACK_DEFAULTS.PG_PORT]);
    expect(hostPorts('clickhouse')).toEqual([STACK_DEFAULTS.CLICKHOUSE_HTTP_PORT, STACK_DEFAULTS.CLICKHOUSE_TCP_PORT]);
    expect(published(service('clickhouse')).map((p) => p.container)).toEqual([8123, 9000]);
    for (const name of ['kafka', 'postgres', 'clickhouse']) {
      expect(published(service(name)).every((p) => p.ip === '127.0.0.1')).toBe(true);
    }
  });

  test('Kafka: the pinned version, KRaft single node, the same listener ports and internal-topic settings', () => {
    const kafka = service('kafka');
    const pom = readFileSync(join(REPO_ROOT, 'stack', 'kafka', 'pom.xml'), 'utf8');
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(kafka.image).toBe(`apache/kafka:${version}`);
    const e = env(kafka);
    expect(e.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(e.KAFKA_ADVERTISED_LISTENERS).toContain(`EXTERNAL://127.0.0.1:${STACK_DEFAULTS.KAFKA_PORT}`);
    expect(e.KAFKA_LISTENERS).toContain(`EXTERNAL://:${STACK_DEFAULTS.KAFKA_PORT}`);
    expect(e.KAFKA_LISTENERS).toContain(`CONTROLLER://:${STACK_DEFAULTS.KAFKA_CONTROLLER_PORT}`);
    expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`1@kafka:${STACK_DEFAULTS.KAFKA_CONTROLLER_PORT}`);
    for (const [key, value] of Object.entries(KAFKA_SINGLE_NODE_SETTINGS)) {
      expect({ key, value: e[`KAFKA_${key.toUpperCase().replaceAll('.', '_')}`] }).toEqual({ key, value });
    }
    expect(kafka.volumes).toContain(`kafka-data:${e.KAFKA_LOG_DIRS}`);
  });

  test('Postgres: the same role, password and database; pg_stat_statements and the slow log on', () => {
    const pg = service('postgres');
    const target = pgTarget(defaults);
    expect({ user: env(pg).POSTGRES_USER, password: env(pg).POSTGRES_PASSWORD, database: env(pg).POSTGRES_DB }).toEqual(target);
    const flags = (pg.command ?? []).filter((_, i, all) => all[i - 1] === '-c');
    for (const [key, value] of Object.entries(PG_REQUIRED_SETTINGS)) expect(flags).toContain(`${key}=${value}`);
    expect(flags).toContain(`log_min_duration_statement=${defaults.PG_LOG_MIN_DURATION_MS}`);
    expect(pg.volumes).toContain('./deploy/postgres:/docker-entrypoint-initdb.d:ro');
    expect(readFileSync(join(REPO_ROOT, 'deploy', 'postgres', '01-extensions.sql'), 'utf8')).toContain(
      'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
    );
  });

  test('ClickHouse: the database the app uses, and the app holds the server password', () => {
    const ch = env(service('clickhouse'));
    const app = compose['x-app-env'];
    expect(ch.CLICKHOUSE_DB).toBe(defaults.CLICKHOUSE_DATABASE);
    expect(app.CLICKHOUSE_DATABASE).toBe(ch.CLICKHOUSE_DB);
    expect(app.CLICKHOUSE_USER).toBe(ch.CLICKHOUSE_USER);
    expect(app.CLICKHOUSE_PASSWORD).toBe(ch.CLICKHOUSE_PASSWORD);
  });
});

describe('compose.yaml runs the project', () => {
  test('the app environment uses only config variables and parses with the config schema', () => {
    const app = compose['x-app-env'];
    expect(Object.keys(app).filter((k) => !CONFIG_KEYS.includes(k))).toEqual([]);
    // API_KEYS is interpolated from .env by compose (see the test below): stand in an entry.
    const config = loadConfig({ ...app, API_KEYS: `compose:ingest+read:${'0'.repeat(64)}` });
    expect(config.KAFKA_BROKERS).toEqual(['kafka:9092']);
    expect(config.KAFKA_TOPIC).toBe(defaults.KAFKA_TOPIC);
    const pgEnv = env(service('postgres'));
    const url = new URL(config.DATABASE_URL);
    expect<Array<string | undefined>>([url.hostname, url.port, url.username, url.password, url.pathname]).toEqual([
      'postgres',
      '5432',
      pgEnv.POSTGRES_USER,
      pgEnv.POSTGRES_PASSWORD,
      `/${pgEnv.POSTGRES_DB}`,
    ]);
    expect(config.CLICKHOUSE_URL).toBe('http://clickhouse:8123');
    expect(config.HTTP_HOST).toBe('0.0.0.0');
  });

  test('every entry point the services run exists, and every project service uses the app environment', () => {
    const runs: Record<string, string> = {};
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build === undefined) continue;
      expect({ name, env: s.environment }).toEqual({ name, env: compose['x-app-env'] });
      const [bin, file] = s.command ?? [];
      expect(bin).toBe('bun');
      runs[name] = file ?? '';
    }
    expect(runs).toEqual({
      migrate: 'scripts/migrate.ts',
      api: 'src/server.ts',
      'consumer-postgres': 'consumers/postgres/main.ts',
      'consumer-clickhouse': 'consumers/clickhouse/main.ts',
    });
    for (const file of Object.values(runs)) expect({ file, exists: existsSync(join(REPO_ROOT, file)) }).toEqual({ file, exists: true });
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const cmd = /^CMD \["bun", "([^"]+)"\]$/m.exec(dockerfile)?.[1];
    expect(cmd).toBe('src/server.ts');
  });

  test('the API runs as several replicas behind the load balancer on the default HTTP port, on 127.0.0.1 only', () => {
    expect(service('api').deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(published(service('lb')).map((p) => [p.ip, p.host, p.container])).toEqual([['127.0.0.1', defaults.HTTP_PORT, defaults.HTTP_PORT]]);
    const haproxy = readFileSync(join(REPO_ROOT, 'deploy', 'haproxy.cfg'), 'utf8');
    expect(haproxy).toContain(`bind :${defaults.HTTP_PORT}`);
    expect(haproxy).toMatch(new RegExp(`server-template api \\d+ api:${compose['x-app-env'].HTTP_PORT} check`));
    expect(haproxy).toContain('option httpchk GET /readyz');
  });

  test('no API key ships in compose.yaml: API_KEYS comes from .env, and compose refuses to start without it', () => {
    const text = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
    expect(compose['x-app-env'].API_KEYS).toMatch(/^\$\{API_KEYS:\?[^}]+\}$/);
    expect(text).not.toMatch(/[0-9a-f]{64}/); // no key hash of any kind
    expect(text).not.toContain('demo-key-change-me');
    expect(readFileSync(join(REPO_ROOT, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  test('the services start in order: data stores healthy, then migrate, then the project', () => {
    const deps = (name: string) => service(name).depends_on as Record<string, { condition: string }>;
    expect(deps('migrate')).toEqual({
      kafka: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
      clickhouse: { condition: 'service_healthy' },
    });
    for (const name of ['api', 'consumer-postgres', 'consumer-clickhouse']) {
      expect(deps(name)).toEqual({ migrate: { condition: 'service_completed_successfully' } });
    }
  });

  test('the image runs as a non-root user with the Bun that package.json pins', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBe('node');
    expect(dockerfile).toContain('RUN sh scripts/ensure-deps.sh'); // the lockfile's versions, as on a dev machine
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies.bun).toMatch(/^\d+\.\d+\.\d+$/); // exact, so the install gets that Bun
  });
});
