/**
 * The whole system on one machine: the native stack, migrations, topics, then the app processes
 * under the project's own supervisor (stack/supervisor.ts: a process that dies is restarted
 * with backoff, and counted).
 *
 *   bun scripts/system.ts start [--cluster]         foreground; Ctrl-C stops everything it started
 *   bun scripts/system.ts up [--cluster]            the same in the background (a detached supervisor)
 *   bun scripts/system.ts down [--cluster]          stops the app processes and the servers (data is kept)
 *   bun scripts/system.ts status [--cluster]        servers, processes, pids, readiness, restarts
 *   bun scripts/system.ts cpu [--seconds=N]         the share of a core each server and process used over N s
 *   bun scripts/system.ts scale GROUP N [--cluster] GROUP = consumer-postgres | consumer-clickhouse | api
 *   bun scripts/system.ts rolling-restart [GROUP] [--cluster]   one instance at a time (default: api)
 *
 * --cluster: 3 Kafka brokers, Postgres primary + standby, ClickHouse, N API instances behind
 * HAProxy, M consumers per group, from .stack-cluster on its own ports (stack/cluster/layout.ts);
 * CLUSTER_API_INSTANCES / CLUSTER_CONSUMER_INSTANCES are read from the command line as
 * --api=N --consumers=M. --base=PORT, --public-port=PORT and --dir=PATH move it (default 29000, 3100,
 * .stack-cluster).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, loadConfig } from '../src/kernel/config.ts';
import { AppError, isAppError } from '../src/kernel/errors.ts';
import { ensureConfiguredTopics } from '../src/kernel/kafka/topics.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { sha256Hex } from '../src/kernel/api-keys.ts';
import { consoleStackLog, loadStackConfig, stackDir, stackStatus, startStack, stopStack } from '../stack/index.ts';
import { drainedRestart } from '../stack/cluster/haproxy.ts';
import { clusterStartEnv, clusterStatus, startCluster, stopCluster } from '../stack/cluster/index.ts';
import {
  CLUSTER_DEFAULT_API_INSTANCES,
  CLUSTER_DEFAULT_CONSUMER_INSTANCES,
  CLUSTER_MAX_INSTANCES,
  type ClusterLayout,
  clusterLayout,
} from '../stack/cluster/layout.ts';
import { kafkaLibsDir } from '../stack/install.ts';
import { hideKafkajsTimerWarning, seconds, type StackLog } from '../stack/log.ts';
import { REPO_ROOT } from '../stack/paths.ts';
import { cmdlineHas, inspectPidFile, removeFile, spawnDetached, stopProcess, tailFile } from '../stack/process.ts';
import type { ServiceStatus } from '../stack/service.ts';
import { type OutputMode, type ProcStatus, Supervisor } from '../stack/supervisor.ts';
import { terminalLogLine } from '../stack/terminal-log.ts';
import { type AppGroup, clusterTopology, launchTopology, SCALABLE_GROUPS, singleTopology, specWith, type Topology } from '../stack/topology.ts';
import { newApiKey } from './lib/api-key.ts';
import { migrate } from './lib/migrate.ts';
import { processTree, sampleProc } from './lib/proc.ts';

const log = consoleStackLog('[system]');

interface Target {
  readonly topology: Topology;
  /** The configuration of the servers and of every app process. */
  readonly config: Config;
  readonly env: Record<string, string>;
  readonly layout?: ClusterLayout;
  readonly banner: (key: string | undefined) => string;
}

function parseArgs(argv: readonly string[]) {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (m) flags.set(m[1] ?? '', m[2] ?? 'true');
    else positional.push(a);
  }
  return { flags, positional };
}

const count = (value: string | undefined, fallback: number, what: string): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > CLUSTER_MAX_INSTANCES) throw new AppError('CONFIG_INVALID', `${what} wants a whole number from 1 to ${CLUSTER_MAX_INSTANCES}, not "${value}"`);
  return n;
};

function target(flags: Map<string, string>): Target {
  const baseEnv = process.env as Record<string, string | undefined>;
  if (flags.has('cluster')) {
    const num = (k: string) => (flags.has(k) ? Number(flags.get(k)) : undefined);
    const layout = clusterLayout({ base: num('base'), publicPort: num('public-port'), dir: flags.get('dir') });
    const env = clusterStartEnv(baseEnv, layout, consoleStackLog('[cluster]'));
    const config = loadConfig(env);
    const counts = { api: count(flags.get('api'), CLUSTER_DEFAULT_API_INSTANCES, '--api'), consumers: count(flags.get('consumers'), CLUSTER_DEFAULT_CONSUMER_INSTANCES, '--consumers') };
    const topology = clusterTopology(layout, env, counts);
    return { topology, config, env, layout, banner: (key) => banner(config, topology, key, layout) };
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  // One broker: an acknowledged event has one copy. Allowed here, with a warning in each log.
  env.KAFKA_ALLOW_UNREPLICATED ??= 'true';
  // Every command here may start the stack: its passwords are made first (when it has none).
  const config = loadStackConfig(env, consoleStackLog('[stack]'));
  const topology = singleTopology(config, env, join(stackDir(config), 'app'));
  return { topology, config, env, banner: (key) => banner(config, topology, key) };
}

/**
 * Auth is on by default. When no API_KEYS are configured, `start`/`up` make one local key (kept
 * in <app dir>/dev-api-key, mode 0600, reused on later starts) and give its hash to the API,
 * so the quick start works with a real key rather than with auth turned off.
 */
function localApiKey(config: Config, appDir: string): { key?: string; env: Record<string, string> } {
  if (config.AUTH_DISABLED || config.API_KEYS.length > 0) return { env: {} };
  const file = join(appDir, 'dev-api-key');
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!key) {
    mkdirSync(appDir, { recursive: true });
    key = newApiKey('local', ['ingest', 'read']).key;
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return { key, env: { API_KEYS: `local:ingest+read:${sha256Hex(key)}` } };
}

/** Servers, migrations and topics: everything the app processes need, idempotently. */
async function prepare(t: Target): Promise<void> {
  const started = Date.now();
  if (t.layout) {
    const shared = loadConfig(process.env);
    await startCluster(t.config, t.layout, consoleStackLog('[cluster]'), kafkaLibsDir(shared));
  } else {
    await startStack(t.config, consoleStackLog('[stack]'));
  }
  await migrate(t.config, consoleStackLog('[migrate]'));
  const topics = await ensureConfiguredTopics(t.config, silentLogger());
  if (topics.created.length > 0) log.info(`created topics: ${topics.created.join(', ')}`);
  log.info(`servers, migrations and topics ready in ${seconds(Date.now() - started)}`);
}

function banner(config: Config, topology: Topology, key: string | undefined, layout?: ClusterLayout): string {
  const auth = key ? ` -H 'authorization: Bearer ${key}'` : '';
  const api = topology.publicUrl;
  const at = new Date(Date.now() - 60_000).toISOString();
  const lines = ['', `Session pipeline is up (${topology.kind} topology):`];
  lines.push(`  API                  ${api}   (docs ${api}/docs, OpenAPI ${api}/openapi.json, metrics ${api}/metrics)`);
  lines.push(`  Dashboard            ${api}/dashboard${key ? `#key=${key}` : ''}`);
  if (layout) {
    lines.push(`  API instances        behind HAProxy on ${api}: ${layout.apiPort(0)}..  (health-checked on /readyz)`);
    lines.push(`  Consumers            metrics on ${layout.pgConsumerPort(0)}.. (postgres), ${layout.chConsumerPort(0)}.. (clickhouse)`);
    lines.push(`  Postgres standby     127.0.0.1:${layout.pgStandbyPort} (the read routes use it: READ_DATABASE_URL)`);
  } else {
    lines.push(`  Postgres consumer    http://127.0.0.1:${config.PG_CONSUMER_METRICS_PORT}/metrics`);
    lines.push(`  ClickHouse consumer  http://127.0.0.1:${config.CH_CONSUMER_METRICS_PORT}/metrics`);
  }
  lines.push(
    `  Kafka                ${config.KAFKA_BROKERS.join(',')}  topic ${config.KAFKA_TOPIC} (DLQ ${config.KAFKA_DLQ_TOPIC})`,
    `  Postgres             ${config.DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}`,
    `  ClickHouse           ${config.CLICKHOUSE_URL}  database ${config.CLICKHOUSE_DATABASE}`,
    `  Process logs         ${join(topology.appDir, 'logs')}   ('npm run status${layout ? ' -- --cluster' : ''}' shows restarts)`,
    '',
    key
      ? `API key (scopes ingest+read; kept in ${join(topology.appDir, 'dev-api-key')}): ${key}`
      : config.AUTH_DISABLED
        ? 'Auth is DISABLED (development mode).'
        : 'Auth: use one of your configured API_KEYS.',
    '',
    'Try:',
    `  curl -i -X POST ${api}/sessions/demo-1/complete -H 'content-type: application/json'${auth} \\`,
    `       -d '{"userId":"demo-user","startedAt":"${at}","completedAt":"${at}","score":42}'`,
    `  curl ${api}/users/demo-user/stats${auth}`,
    '',
  );
  return lines.join('\n');
}

// --- the supervisor and its control socket ---------------------------------------------------

const socketOf = (t: Target) => join(t.topology.appDir, 'supervisor.sock');
const supervisorPidFile = (t: Target) => join(t.topology.appDir, 'supervisor.pid');
/** `start` runs in the foreground; its pid file lets `down` from another terminal stop it too. */
const foregroundPidFile = (t: Target) => join(t.topology.appDir, 'foreground.pid');
const foregroundMatcher = (argv: readonly string[]): boolean => argv.some((a) => a.endsWith('scripts/system.ts')) && argv.includes('start');
const supervisorMatcher = cmdlineHas(process.execPath.split('/').pop() ?? 'bun', join(REPO_ROOT, 'scripts/system.ts'), 'supervise');

/** Runs the topology's processes under a supervisor that answers on a unix socket. */
async function runSupervisor(t: Target, output: OutputMode, extraEnv: Record<string, string>, supLog: StackLog) {
  const topology = t.topology;
  const withEnv = specWith(topology, extraEnv);
  const supervisor = new Supervisor({
    log: supLog,
    output,
    terminalLine: (name, line) => terminalLogLine(name, line, { minLevel: 40, colours: process.stderr.isTTY === true }),
  });
  const launched = launchTopology(supervisor, topology, extraEnv);
  mkdirSync(topology.appDir, { recursive: true });
  rmSync(socketOf(t), { force: true });
  const server = Bun.serve({
    unix: socketOf(t),
    async fetch(req) {
      const url = new URL(req.url);
      try {
        if (url.pathname === '/status') return Response.json(supervisor.status());
        const scale = /^\/scale\/([a-z-]+)\/(\d+)$/.exec(url.pathname);
        if (scale && req.method === 'POST') {
          const group = scale[1] as AppGroup;
          if (!SCALABLE_GROUPS.includes(group)) return new Response(`unknown group ${group}; one of ${SCALABLE_GROUPS.join(', ')}\n`, { status: 400 });
          if (group === 'api' && topology.kind === 'cluster') return new Response('HAProxy lists the API instances it was started with: restart with --api=N to change them\n', { status: 400 });
          await supervisor.scale(group, count(scale[2], 1, 'N'), (i) => withEnv(group, i));
          return Response.json(supervisor.status());
        }
        const rolling = /^\/rolling-restart\/([a-z-]+)$/.exec(url.pathname);
        if (rolling && req.method === 'POST') {
          const group = rolling[1] ?? 'api';
          const layout = t.layout;
          // In the cluster, HAProxy stops sending to an API instance before it stops serving.
          const names = await supervisor.rollingRestart(group, group === 'api' && layout ? (name, restart) => drainedRestart(layout, name, restart) : undefined);
          return Response.json({ restarted: names });
        }
        return new Response('not found\n', { status: 404 });
      } catch (error) {
        return new Response(`${error instanceof Error ? error.message : String(error)}\n`, { status: 500 });
      }
    },
  });
  return {
    supervisor,
    launched,
    async stop() {
      await supervisor.stopAll(topology.stopOrder);
      await server.stop(true);
      rmSync(socketOf(t), { force: true });
    },
  };
}

async function ask(t: Target, path: string, method = 'GET'): Promise<Response | undefined> {
  if (!existsSync(socketOf(t))) return undefined;
  try {
    return await fetch(`http://supervisor${path}`, { unix: socketOf(t), method, signal: AbortSignal.timeout(600_000) } as RequestInit);
  } catch {
    return undefined;
  }
}

// --- commands ----------------------------------------------------------------------------------

/** Foreground: Ctrl-C (or SIGTERM) stops the processes, then the servers. */
async function start(t: Target): Promise<void> {
  if ((await ask(t, '/status')) !== undefined) {
    throw new AppError('STACK_FAILED', `Already running (a supervisor answers on ${socketOf(t)}): use 'npm run down' first, or 'npm run status'.`);
  }
  const started = Date.now();
  await prepare(t);
  const local = localApiKey(t.config, t.topology.appDir);
  // On a terminal: JSON stays in the log files; the terminal gets the banner, warnings and errors.
  const output: OutputMode = process.stdout.isTTY ? 'terminal' : 'inherit';
  const running = await runSupervisor(t, output, local.env, log);
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping the processes (they drain and commit)…');
    await running.stop();
    log.info('stopping the servers (data is kept; next start is warm)…');
    if (t.layout) await stopCluster(t.config, t.layout, consoleStackLog('[cluster]'));
    else await stopStack(t.config, consoleStackLog('[stack]'));
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  writeFileSync(foregroundPidFile(t), `${process.pid}\n`);
  process.on('exit', () => removeFile(foregroundPidFile(t)));
  try {
    await running.launched;
  } catch (error) {
    log.warn(isAppError(error) || error instanceof Error ? error.message : String(error));
    await stopAll(1);
  }
  console.log(t.banner(local.key));
  if (output === 'terminal') log.info(`process logs (JSON) are in ${join(t.topology.appDir, 'logs')}; warnings and errors show here`);
  log.info(`ready in ${seconds(Date.now() - started)}; Ctrl-C to stop`);
  await new Promise(() => {});
}

/** The background supervisor `up` starts (detached). */
async function supervise(t: Target): Promise<void> {
  const local = localApiKey(t.config, t.topology.appDir);
  const running = await runSupervisor(t, 'file', local.env, consoleStackLog('[supervisor]'));
  running.launched.catch((error: unknown) => console.error(`not every process became ready: ${(error as Error).message}`));
  const stop = async () => {
    await running.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  await new Promise(() => {});
}

/** Background: a detached supervisor (pid file and log in the app dir) runs the processes. */
async function up(t: Target, flags: Map<string, string>): Promise<void> {
  const started = Date.now();
  await prepare(t);
  const local = localApiKey(t.config, t.topology.appDir);
  const pidFile = supervisorPidFile(t);
  const logFile = join(t.topology.appDir, 'logs', 'supervisor.log');
  if (inspectPidFile(pidFile, supervisorMatcher).state === 'running' && (await ask(t, '/status')) !== undefined) {
    log.info('the supervisor is already running');
  } else {
    removeFile(pidFile);
    const args = [...flags].map(([k, v]) => (v === 'true' ? `--${k}` : `--${k}=${v}`));
    const pid = spawnDetached({ argv: [process.execPath, join(REPO_ROOT, 'scripts/system.ts'), 'supervise', ...args], cwd: REPO_ROOT, env: process.env, logFile, pidFile });
    log.info(`supervisor started (pid ${pid}, log ${logFile})`);
  }
  const deadline = Date.now() + 180_000;
  for (;;) {
    const res = await ask(t, '/status');
    if (res?.ok) {
      const procs = (await res.json()) as ProcStatus[];
      const ready = await Promise.all(procs.map(async (p) => (p.readyUrl ? (await fetch(p.readyUrl, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok === true : p.pid !== undefined)));
      if (procs.length > 0 && ready.every(Boolean)) break;
    }
    if (inspectPidFile(pidFile, supervisorMatcher).state !== 'running') throw new AppError('STACK_FAILED', `the supervisor exited. Its log: ${logFile}\n${tailFile(logFile, 20)}`);
    if (Date.now() > deadline) throw new AppError('STACK_FAILED', `not every process was ready within 180 s; 'npm run status' says which. Supervisor log: ${logFile}`);
    await Bun.sleep(500);
  }
  console.log(t.banner(local.key));
  log.info(`ready in ${seconds(Date.now() - started)}; 'npm run down${t.layout ? ' -- --cluster' : ''}' stops it`);
}

/** Pid files of the processes an `up` before the supervisor started (stopped by `down`). */
const LEGACY_APPS = [
  ['api', 'src/server.ts'],
  ['consumer-postgres', 'consumers/postgres/main.ts'],
  ['consumer-clickhouse', 'consumers/clickhouse/main.ts'],
] as const;

async function down(t: Target): Promise<void> {
  const pidFile = supervisorPidFile(t);
  const state = inspectPidFile(pidFile, supervisorMatcher);
  if (state.state === 'running') {
    const outcome = await stopProcess(state.pid, supervisorMatcher, { signal: 'SIGTERM', timeoutMs: t.config.SHUTDOWN_TIMEOUT_MS * 3 + 10_000 });
    log.info(`supervisor and its processes: ${outcome} (pid ${state.pid})`);
  }
  removeFile(pidFile);
  // A foreground `npm start` in another terminal: SIGTERM makes it stop its processes (they
  // drain and commit) and the servers, as Ctrl-C would. Without this, its API and consumers
  // kept running against stopped servers.
  const foreground = inspectPidFile(foregroundPidFile(t), foregroundMatcher);
  if (foreground.state === 'running') {
    const outcome = await stopProcess(foreground.pid, foregroundMatcher, { signal: 'SIGTERM', timeoutMs: t.config.SHUTDOWN_TIMEOUT_MS * 3 + 30_000 });
    log.info(`'npm start' (foreground, pid ${foreground.pid}) and its processes: ${outcome}`);
  }
  removeFile(foregroundPidFile(t));
  for (const [name, script] of LEGACY_APPS) {
    const file = join(t.topology.appDir, `${name}.pid`);
    const matcher = cmdlineHas(process.execPath.split('/').pop() ?? 'bun', join(REPO_ROOT, script));
    const legacy = inspectPidFile(file, matcher);
    if (legacy.state === 'running') log.info(`${name}: ${await stopProcess(legacy.pid, matcher, { signal: 'SIGTERM', timeoutMs: t.config.SHUTDOWN_TIMEOUT_MS + 5_000 })}`);
    removeFile(file);
  }
  if (t.layout) await stopCluster(t.config, t.layout, consoleStackLog('[cluster]'));
  else await stopStack(t.config, consoleStackLog('[stack]'));
}

function serverLine(s: ServiceStatus): string {
  return `${s.name.padEnd(22)} ${(s.running ? 'running' : 'stopped').padEnd(8)} ${String(s.pid ?? '').padEnd(8)} ${(s.ready ? 'ready' : 'not ready').padEnd(10)} ${s.ports.map((p) => p.port).join(',')}  ${s.logFile}`;
}

async function status(t: Target): Promise<void> {
  const servers = t.layout ? await clusterStatus(t.config, t.layout) : await stackStatus(t.config);
  console.log(`${'SERVER'.padEnd(22)} ${'STATE'.padEnd(8)} ${'PID'.padEnd(8)} ${'READY'.padEnd(10)} PORTS  LOG`);
  for (const s of servers) console.log(serverLine(s));
  const res = await ask(t, '/status');
  console.log('');
  if (!res?.ok) {
    console.log(`app processes: no supervisor answers on ${socketOf(t)} (not started, or stopped)`);
    return;
  }
  console.log(`${'PROCESS'.padEnd(22)} ${'STATE'.padEnd(8)} ${'PID'.padEnd(8)} ${'READY'.padEnd(10)} ${'RESTARTS'.padEnd(9)} LAST EXIT`);
  for (const p of (await res.json()) as ProcStatus[]) {
    let ready = false;
    if (p.pid !== undefined && p.readyUrl) ready = (await fetch(p.readyUrl, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok === true;
    const last = p.lastExit ? `${p.lastExit.signal ? `signal ${p.lastExit.signal}` : `code ${p.lastExit.code}`} at ${p.lastExit.at}` : '';
    console.log(`${p.name.padEnd(22)} ${p.state.padEnd(8)} ${String(p.pid ?? '').padEnd(8)} ${(ready ? 'ready' : 'not ready').padEnd(10)} ${String(p.restarts).padEnd(9)} ${last}`);
  }
}

/**
 * `npm run cpu [-- --seconds=N]`: the share of a core each part of the running system used over
 * N seconds (default 30), read from /proc: every server with its child processes (Postgres'
 * backends), every app process, the supervisor; the total; and what the host's hypervisor took
 * meanwhile (steal), which makes any figure from a shared machine less certain. With no traffic
 * this is issue 11's idle figure for `npm run up` (docs/performance.md).
 */
async function cpu(t: Target, flags: Map<string, string>): Promise<void> {
  const windowS = Number(flags.get('seconds') ?? 30);
  if (!(windowS >= 1 && windowS <= 3_600)) throw new AppError('CONFIG_INVALID', '--seconds must be between 1 and 3600');
  // tree: the process with its children (Postgres' backends); the supervisor alone, since its
  // children are the app processes, counted on their own lines.
  const parts: Array<{ name: string; pid: number; tree: boolean }> = [];
  for (const s of t.layout ? await clusterStatus(t.config, t.layout) : await stackStatus(t.config)) if (s.pid !== undefined) parts.push({ name: s.name, pid: s.pid, tree: true });
  const res = await ask(t, '/status');
  if (res?.ok) for (const p of (await res.json()) as ProcStatus[]) if (p.pid !== undefined) parts.push({ name: p.name, pid: p.pid, tree: true });
  const supervisor = inspectPidFile(supervisorPidFile(t), supervisorMatcher);
  if (supervisor.state === 'running') parts.push({ name: 'supervisor', pid: supervisor.pid, tree: false });
  if (parts.length === 0) throw new AppError('STACK_FAILED', `nothing is running: start it with 'npm run up${t.layout ? ' -- --cluster' : ''}'`);
  // A tree's CPU counts its live members and what its reaped children left in cutime/cstime.
  const cpuOf = ({ pid, tree }: { pid: number; tree: boolean }) =>
    tree ? processTree(pid).reduce((sum, p, i) => sum + ((i === 0 ? sampleProc(p)?.cpuWithChildrenSeconds : sampleProc(p)?.cpuSeconds) ?? 0), 0) : (sampleProc(pid)?.cpuSeconds ?? 0);
  const steal = () => Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/)[8] ?? 0) / 100;
  const before = parts.map(cpuOf);
  const stealBefore = steal();
  log.info(`measuring ${parts.length} processes for ${windowS} s…`);
  await Bun.sleep(windowS * 1_000);
  const shares = parts.map((p, i) => ({ name: p.name, pid: p.pid, share: Math.max(0, cpuOf(p) - (before[i] ?? 0)) / windowS }));
  console.log(`${'PART'.padEnd(22)} ${'PID'.padEnd(8)} CORE`);
  for (const s of shares) console.log(`${s.name.padEnd(22)} ${String(s.pid).padEnd(8)} ${s.share.toFixed(4)}`);
  console.log(`${'total'.padEnd(31)} ${shares.reduce((a, s) => a + s.share, 0).toFixed(4)}`);
  console.log(`host steal meanwhile: ${((steal() - stealBefore) / windowS).toFixed(3)} core (the hypervisor's; not the system's)`);
}

async function control(t: Target, path: string): Promise<void> {
  const res = await ask(t, path, 'POST');
  if (res === undefined) throw new AppError('STACK_FAILED', `no supervisor answers on ${socketOf(t)}: start it with 'npm run up${t.layout ? ' -- --cluster' : ''}'`);
  const text = await res.text();
  if (!res.ok) throw new AppError('STACK_FAILED', text.trim());
  log.info(text.length > 400 ? `${text.slice(0, 400)}…` : text.trim());
}

hideKafkajsTimerWarning();
const { flags, positional } = parseArgs(process.argv.slice(2));
const command = positional[0] ?? 'start';
try {
  const t = target(flags);
  switch (command) {
    case 'start':
      await start(t);
      break;
    case 'up':
      await up(t, flags);
      break;
    case 'supervise':
      await supervise(t);
      break;
    case 'down':
      await down(t);
      break;
    case 'status':
      await status(t);
      break;
    case 'cpu':
      await cpu(t, flags);
      break;
    case 'scale': {
      const [, group, n] = positional;
      if (group === undefined || n === undefined) throw new AppError('CONFIG_INVALID', `usage: scale ${SCALABLE_GROUPS.join('|')} N [--cluster]`);
      await control(t, `/scale/${group}/${n}`);
      break;
    }
    case 'rolling-restart':
      await control(t, `/rolling-restart/${positional[1] ?? 'api'}`);
      break;
    default:
      console.error('usage: bun scripts/system.ts start|up|down|status|cpu [--seconds=N]|scale GROUP N|rolling-restart [GROUP]  [--cluster [--api=N] [--consumers=M]]');
      process.exit(2);
  }
  if (command !== 'start' && command !== 'supervise') process.exit(0);
} catch (error) {
  console.error(`\n${isAppError(error) ? error.message : error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
}
