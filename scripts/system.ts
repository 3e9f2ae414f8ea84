/**
 * The whole system on one machine: the native stack (Kafka, Postgres, ClickHouse), migrations,
 * topics, then the API and both consumers.
 *
 *   bun scripts/system.ts start    foreground; Ctrl-C stops everything it started
 *   bun scripts/system.ts up       the same in the background (pid files and logs in .stack/app)
 *   bun scripts/system.ts down     stops the app processes and the stack (data is kept)
 *   bun scripts/system.ts status   what runs where
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Config, loadConfig } from '../src/kernel/config.ts';
import { AppError, isAppError } from '../src/kernel/errors.ts';
import { ensureConfiguredTopics } from '../src/kernel/kafka/topics.ts';
import { silentLogger } from '../src/kernel/observability/logger.ts';
import { consoleStackLog, stackDir, stackStatus, startStack, stopStack } from '../stack/index.ts';
import { seconds } from '../stack/log.ts';
import { REPO_ROOT } from '../stack/paths.ts';
import { cmdlineHas, inspectPidFile, processState, removeFile, spawnDetached, stopProcess, tailFile } from '../stack/process.ts';
import { sha256Hex } from '../src/kernel/api-keys.ts';
import { newApiKey } from './lib/api-key.ts';
import { migrate } from './lib/migrate.ts';

const log = consoleStackLog('[system]');

interface AppProcess {
  readonly name: string;
  readonly script: string;
  readonly readyUrl: string;
}

/** Loopback for probes even when a process listens on 0.0.0.0. */
const probeHost = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

function appProcesses(config: Config): AppProcess[] {
  const host = probeHost(config.HTTP_HOST);
  return [
    { name: 'api', script: join(REPO_ROOT, 'src/server.ts'), readyUrl: `http://${host}:${config.HTTP_PORT}/readyz` },
    {
      name: 'consumer-postgres',
      script: join(REPO_ROOT, 'consumers/postgres/main.ts'),
      readyUrl: `http://${host}:${config.PG_CONSUMER_METRICS_PORT}/readyz`,
    },
    {
      name: 'consumer-clickhouse',
      script: join(REPO_ROOT, 'consumers/clickhouse/main.ts'),
      readyUrl: `http://${host}:${config.CH_CONSUMER_METRICS_PORT}/readyz`,
    },
  ];
}

const appDir = (config: Config) => join(stackDir(config), 'app');
const pidFileOf = (config: Config, app: AppProcess) => join(appDir(config), `${app.name}.pid`);
const logFileOf = (config: Config, app: AppProcess) => join(appDir(config), 'logs', `${app.name}.log`);
/** Our app process: this Bun binary running that script (whatever the binary is called). */
const matcherOf = (app: AppProcess) => cmdlineHas(basename(process.execPath), app.script);

/**
 * Auth is on by default. When no API_KEYS are configured, `start`/`up` make one local key (kept
 * in .stack/app/dev-api-key, mode 0600, reused on later starts) and give its hash to the API,
 * so the quick start works with a real key rather than with auth turned off.
 */
function localApiKey(config: Config): { key?: string; env: Record<string, string> } {
  if (config.AUTH_DISABLED || config.API_KEYS.length > 0) return { env: {} };
  const file = join(appDir(config), 'dev-api-key');
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!key) {
    mkdirSync(appDir(config), { recursive: true });
    key = newApiKey('local', ['ingest', 'read']).key;
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return { key, env: { API_KEYS: `local:ingest+read:${sha256Hex(key)}` } };
}

/** Stack, migrations and topics: everything the app processes need, idempotently. */
async function prepare(config: Config): Promise<void> {
  const started = Date.now();
  await startStack(config, consoleStackLog('[stack]'));
  await migrate(config, consoleStackLog('[migrate]'));
  const topics = await ensureConfiguredTopics(config, silentLogger());
  if (topics.created.length > 0) log.info(`created topics: ${topics.created.join(', ')}`);
  log.info(`stack, migrations and topics ready in ${seconds(Date.now() - started)}`);
}

async function waitReady(app: AppProcess, isAlive: () => boolean, logHint: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive()) throw new AppError('STACK_FAILED', `${app.name} exited before it was ready. ${logHint}`);
    try {
      if ((await fetch(app.readyUrl)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new AppError('STACK_FAILED', `${app.name} was not ready at ${app.readyUrl} within ${seconds(timeoutMs)}. ${logHint}`);
    }
    await Bun.sleep(200);
  }
}

function banner(config: Config, key: string | undefined): string {
  const host = probeHost(config.HTTP_HOST);
  const auth = key ? ` -H 'authorization: Bearer ${key}'` : '';
  const api = `http://${host}:${config.HTTP_PORT}`;
  const at = new Date(Date.now() - 60_000).toISOString();
  return [
    '',
    'Session pipeline is up:',
    `  API                  ${api}   (docs ${api}/docs, OpenAPI ${api}/openapi.json, metrics ${api}/metrics)`,
    `  Dashboard            ${api}/dashboard${key ? `#key=${key}` : ''}`,
    `  Postgres consumer    http://${host}:${config.PG_CONSUMER_METRICS_PORT}/metrics`,
    `  ClickHouse consumer  http://${host}:${config.CH_CONSUMER_METRICS_PORT}/metrics`,
    `  Kafka                ${config.KAFKA_BROKERS.join(',')}  topic ${config.KAFKA_TOPIC} (DLQ ${config.KAFKA_DLQ_TOPIC})`,
    `  Postgres             ${config.DATABASE_URL.replace(/:[^:@/]+@/, ':***@')}`,
    `  ClickHouse           ${config.CLICKHOUSE_URL}  database ${config.CLICKHOUSE_DATABASE}`,
    '',
    key
      ? `API key (scopes ingest+read; kept in ${join(appDir(config), 'dev-api-key')}): ${key}`
      : config.AUTH_DISABLED
        ? 'Auth is DISABLED (development mode).'
        : 'Auth: use one of your configured API_KEYS.',
    '',
    'Try:',
    `  curl -i -X POST ${api}/sessions/demo-1/complete -H 'content-type: application/json'${auth} \\`,
    `       -d '{"userId":"demo-user","startedAt":"${at}","completedAt":"${at}","score":42}'`,
    `  curl ${api}/users/demo-user/stats${auth}`,
    '',
  ].join('\n');
}

/** Foreground: children share this terminal; Ctrl-C (or SIGTERM) stops them, then the stack. */
async function start(config: Config): Promise<void> {
  const running = appProcesses(config).filter((a) => inspectPidFile(pidFileOf(config, a), matcherOf(a)).state === 'running');
  if (running.length > 0) {
    throw new AppError(
      'STACK_FAILED',
      `Already running in the background (${running.map((a) => a.name).join(', ')}): use 'npm run down' first, or 'npm run status'.`,
    );
  }
  const started = Date.now();
  await prepare(config);
  const local = localApiKey(config);
  const children = appProcesses(config).map((app) => ({
    app,
    proc: Bun.spawn([process.execPath, app.script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...local.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  }));
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping the API and consumers (they drain and commit)…');
    for (const c of children) c.proc.kill('SIGTERM');
    await Promise.all(children.map((c) => c.proc.exited));
    log.info('stopping the stack (data is kept; next start is warm)…');
    await stopStack(config, consoleStackLog('[stack]'));
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  for (const c of children) {
    void c.proc.exited.then((code) => {
      if (!stopping) {
        log.warn(`${c.app.name} exited with code ${code}; stopping everything`);
        void stopAll(1);
      }
    });
  }
  try {
    await Promise.all(children.map((c) => waitReady(c.app, () => c.proc.exitCode === null, 'See its output above.')));
  } catch (error) {
    log.warn(isAppError(error) ? error.message : String(error));
    await stopAll(1);
  }
  console.log(banner(config, local.key));
  log.info(`ready in ${seconds(Date.now() - started)}; Ctrl-C to stop`);
  await new Promise(() => {});
}

/** Background: detached app processes with pid files and logs under .stack/app. */
async function up(config: Config): Promise<void> {
  const started = Date.now();
  await prepare(config);
  const local = localApiKey(config);
  for (const app of appProcesses(config)) {
    const pidFile = pidFileOf(config, app);
    const state = inspectPidFile(pidFile, matcherOf(app));
    let pid: number;
    if (state.state === 'running') {
      pid = state.pid;
      log.info(`${app.name}: already running (pid ${pid})`);
    } else {
      if (state.state === 'stale') removeFile(pidFile);
      pid = spawnDetached({
        argv: [process.execPath, app.script],
        cwd: REPO_ROOT,
        env: { ...process.env, ...local.env },
        logFile: logFileOf(config, app),
        pidFile,
      });
      log.info(`${app.name}: started (pid ${pid}, log ${logFileOf(config, app)})`);
    }
    const logFile = logFileOf(config, app);
    // Liveness by pid, not by command line: right after the fork the child still shows ours.
    await waitReady(app, () => processState(pid) === 'alive', `Its log: ${logFile}\n${tailFile(logFile, 15)}`);
  }
  console.log(banner(config, local.key));
  log.info(`ready in ${seconds(Date.now() - started)}; 'npm run down' stops it`);
}

async function down(config: Config): Promise<void> {
  for (const app of appProcesses(config)) {
    const pidFile = pidFileOf(config, app);
    const state = inspectPidFile(pidFile, matcherOf(app));
    if (state.state === 'running') {
      const outcome = await stopProcess(state.pid, matcherOf(app), { signal: 'SIGTERM', timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000 });
      log.info(`${app.name}: ${outcome} (pid ${state.pid})`);
    }
    removeFile(pidFile);
  }
  await stopStack(config, consoleStackLog('[stack]'));
}

async function status(config: Config): Promise<void> {
  for (const s of await stackStatus(config)) {
    console.log(`${s.name.padEnd(20)} ${(s.running ? 'running' : 'stopped').padEnd(8)} ${s.pid ?? ''} ${s.ready ? 'ready' : 'not ready'} ${s.logFile}`);
  }
  for (const app of appProcesses(config)) {
    const state = inspectPidFile(pidFileOf(config, app), matcherOf(app));
    let ready = false;
    try {
      ready = (await fetch(app.readyUrl, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      ready = false;
    }
    console.log(
      `${app.name.padEnd(20)} ${(state.state === 'running' ? 'running' : 'stopped').padEnd(8)} ${state.state === 'running' ? state.pid : ''} ${ready ? 'ready' : 'not ready'} ${app.readyUrl}`,
    );
  }
}

const commands: Record<string, (config: Config) => Promise<void>> = { start, up, down, status };
const command = process.argv[2] ?? 'start';
const run = commands[command];
if (!run) {
  console.error(`usage: bun scripts/system.ts ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
try {
  await run(loadConfig(process.env));
  if (command !== 'start') process.exit(0);
} catch (error) {
  console.error(`\n${isAppError(error) ? error.message : error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
}
