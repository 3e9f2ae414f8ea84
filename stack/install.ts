/**
 * Installs what the stack runs, on first use and idempotently:
 *  - Java 17 and Maven (Debian), then the Kafka broker jars from Maven Central via
 *    `mvn dependency:copy-dependencies` on stack/kafka/pom.xml, into <stack>/kafka/libs. A stamp
 *    holding the pom's hash says the jars match the pom; a changed pom fetches again.
 *  - Postgres 15 and ClickHouse (Debian packages) when their binaries are missing. Debian's
 *    packages would create and start their own clusters/services; a createcluster.d drop-in and a
 *    temporary policy-rc.d stop that, since the stack runs its own instances under <stack>.
 * Each step prints what it installs and how long it took; a failure names the step.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../src/config.ts';
import { AppError } from '../src/errors.ts';
import { describeExit, exec, outputTail } from './exec.ts';
import { seconds, type StackLog } from './log.ts';
import { REPO_ROOT, servicePaths } from './paths.ts';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
const CLICKHOUSE_SERVER_CANDIDATES = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'];
export const KAFKA_POM = join(REPO_ROOT, 'stack', 'kafka', 'pom.xml');
const INSTALL_TIMEOUT_MS = 20 * 60_000;

export function clickhouseServerBinary(): string | undefined {
  return CLICKHOUSE_SERVER_CANDIDATES.find((p) => existsSync(p));
}

export const kafkaLibsDir = (config: Pick<Config, 'STACK_DIR'>): string => join(servicePaths(config, 'kafka').home, 'libs');

const pomHash = (): string => createHash('sha256').update(readFileSync(KAFKA_POM)).digest('hex');
const stampPath = (libs: string): string => join(libs, '.pom-sha256');

function kafkaLibsPresent(libs: string): boolean {
  try {
    if (readFileSync(stampPath(libs), 'utf8').trim() !== pomHash()) return false;
    return readdirSync(libs).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  } catch {
    return false;
  }
}

interface Step {
  readonly what: string;
  readonly needed: () => boolean;
  readonly run: (log: StackLog) => Promise<void>;
}

function installFailure(what: string, detail: string, cause?: unknown): AppError {
  return new AppError('STACK_FAILED', `install: ${what} failed: ${detail}`, { cause, details: { step: what } });
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const NO_MAIN_CLUSTER = '/etc/postgresql-common/createcluster.d/50-session-pipeline-no-main-cluster.conf';

/** apt-get install with services kept from starting; `apt-get update` only when lists are missing. */
async function aptInstall(packages: readonly string[], log: StackLog): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw installFailure(`apt-get install ${packages.join(' ')}`, 'needs root; install these packages yourself and re-run');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy) {
    // Debian's maintainer scripts start services through invoke-rc.d; exit 101 = "not allowed".
    writeFileSync(POLICY_RC_D, '#!/bin/sh\n# written by the session-pipeline stack during apt-get install\nexit 101\n');
    chmodSync(POLICY_RC_D, 0o755);
  }
  try {
    const install = () =>
      exec(
        ['apt-get', 'install', '-y', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', ...packages],
        { timeoutMs: INSTALL_TIMEOUT_MS, env, echo: true },
      );
    let result = await install();
    if (result.code !== 0 && /Unable to locate package|has no installation candidate|is not available/.test(result.stdout + result.stderr)) {
      log.info('apt-get: package lists are missing or stale; running apt-get update');
      const update = await exec(['apt-get', 'update', '-o', 'DPkg::Lock::Timeout=300'], { timeoutMs: INSTALL_TIMEOUT_MS, env, echo: true });
      if (update.code !== 0) throw installFailure('apt-get update', `${describeExit(update)}\n${outputTail(update)}`);
      result = await install();
    }
    if (result.code !== 0) throw installFailure(`apt-get install ${packages.join(' ')}`, `${describeExit(result)}\n${outputTail(result)}`);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
  }
}

function steps(config: Pick<Config, 'STACK_DIR'>): Step[] {
  const libs = kafkaLibsDir(config);
  return [
    {
      what: 'Java 17 runtime (openjdk-17-jre-headless)',
      needed: () => Bun.which('java') === null,
      run: (log) => aptInstall(['openjdk-17-jre-headless'], log),
    },
    {
      what: 'Maven (maven)',
      needed: () => Bun.which('mvn') === null,
      run: (log) => aptInstall(['maven'], log),
    },
    {
      what: `Kafka broker jars from Maven Central (stack/kafka/pom.xml -> ${libs})`,
      needed: () => !kafkaLibsPresent(libs),
      run: async () => {
        const tmp = `${libs}.download`;
        rmSync(tmp, { recursive: true, force: true });
        mkdirSync(tmp, { recursive: true });
        const r = await exec(
          ['mvn', '-q', '-B', '-Dstyle.color=never', '-f', KAFKA_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'],
          { timeoutMs: INSTALL_TIMEOUT_MS, cwd: REPO_ROOT, env: process.env }, // -q: silent unless it fails
        );
        if (r.code !== 0) throw installFailure('mvn dependency:copy-dependencies', `${describeExit(r)}\n${outputTail(r)}`);
        writeFileSync(stampPath(tmp), `${pomHash()}\n`);
        rmSync(libs, { recursive: true, force: true });
        renameSync(tmp, libs);
      },
    },
    {
      what: 'Postgres 15 (postgresql-15 postgresql-contrib)',
      needed: () => !existsSync(join(PG_BIN, 'initdb')),
      run: async (log) => {
        // Keep Debian from creating (and starting) its own "main" cluster: we run our own.
        mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true });
        if (!existsSync(NO_MAIN_CLUSTER)) {
          writeFileSync(NO_MAIN_CLUSTER, '# written by the session-pipeline stack: it runs its own cluster\ncreate_main_cluster = false\n');
          log.info(`wrote ${NO_MAIN_CLUSTER} (create_main_cluster = false)`);
        }
        await aptInstall(['postgresql-15', 'postgresql-contrib'], log);
      },
    },
    {
      what: 'ClickHouse (clickhouse-server clickhouse-client)',
      needed: () => clickhouseServerBinary() === undefined,
      run: (log) => aptInstall(['clickhouse-server', 'clickhouse-client'], log),
    },
  ];
}

/** What is missing, without installing anything. */
export const missingParts = (config: Pick<Config, 'STACK_DIR'>): string[] =>
  steps(config)
    .filter((s) => s.needed())
    .map((s) => s.what);

/**
 * Installs what is missing. Steps run one after another: apt holds one dpkg lock anyway, and the
 * Maven step needs Java and Maven first. Returns the milliseconds spent (0 when nothing was missing).
 */
export async function installStack(config: Pick<Config, 'STACK_DIR' | 'AUTO_INSTALL'>, log: StackLog): Promise<number> {
  const todo = steps(config).filter((s) => s.needed());
  if (todo.length === 0) return 0;
  if (!config.AUTO_INSTALL) {
    throw new AppError(
      'STACK_FAILED',
      `install: missing ${todo.map((s) => s.what).join('; ')} and AUTO_INSTALL=false. Run \`npm run stack -- install\`.`,
    );
  }
  const started = Date.now();
  for (const step of todo) {
    const t = Date.now();
    log.info(`installing ${step.what}…`);
    await step.run(log);
    log.info(`installed ${step.what} in ${seconds(Date.now() - t)}`);
  }
  const ms = Date.now() - started;
  log.info(`install finished in ${seconds(ms)}`);
  return ms;
}
