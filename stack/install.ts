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
import type { Config } from '../src/kernel/config.ts';
import { AppError } from '../src/kernel/errors.ts';
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

/** Debian packages the stack needs, each with the test that says it is missing. */
interface AptNeed {
  readonly what: string;
  readonly packages: readonly string[];
  readonly missing: () => boolean;
  /** Runs before apt-get (Postgres: keep Debian from making its own cluster). */
  readonly before?: (log: StackLog) => void;
}

function installFailure(what: string, detail: string, cause?: unknown): AppError {
  return new AppError('STACK_FAILED', `install: ${what} failed: ${detail}`, { cause, details: { step: what } });
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const NO_MAIN_CLUSTER = '/etc/postgresql-common/createcluster.d/50-session-pipeline-no-main-cluster.conf';

/** apt-get install with services kept from starting; `apt-get update` only when lists are missing. */
export async function aptInstall(packages: readonly string[], log: StackLog): Promise<void> {
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
        // --no-upgrade: never upgrade a listed package that is already there (servers of other
        // stacks on this machine may be running from it).
        ['apt-get', 'install', '-y', '--no-install-recommends', '--no-upgrade', '-o', 'DPkg::Lock::Timeout=300', ...packages],
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

const APT_NEEDS: readonly AptNeed[] = [
  { what: 'Java 17', packages: ['openjdk-17-jre-headless'], missing: () => Bun.which('java') === null },
  { what: 'Maven', packages: ['maven'], missing: () => Bun.which('mvn') === null },
  {
    what: 'Postgres 15',
    packages: ['postgresql-15', 'postgresql-contrib'],
    missing: () => !existsSync(join(PG_BIN, 'initdb')),
    before: (log) => {
      // Keep Debian from creating (and starting) its own "main" cluster: we run our own.
      mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true });
      if (!existsSync(NO_MAIN_CLUSTER)) {
        writeFileSync(NO_MAIN_CLUSTER, '# written by the session-pipeline stack: it runs its own cluster\ncreate_main_cluster = false\n');
        log.info(`wrote ${NO_MAIN_CLUSTER} (create_main_cluster = false)`);
      }
    },
  },
  { what: 'ClickHouse', packages: ['clickhouse-server', 'clickhouse-client'], missing: () => clickhouseServerBinary() === undefined },
];

async function fetchKafkaJars(libs: string): Promise<void> {
  const tmp = `${libs}.download`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = await exec(
    ['mvn', '-q', '-B', '-f', KAFKA_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'],
    { timeoutMs: INSTALL_TIMEOUT_MS, cwd: REPO_ROOT, env: process.env }, // -q: silent unless it fails
  );
  if (r.code !== 0) throw installFailure('mvn dependency:copy-dependencies (Kafka broker jars)', `${describeExit(r)}\n${outputTail(r)}`);
  writeFileSync(stampPath(tmp), `${pomHash()}\n`);
  rmSync(libs, { recursive: true, force: true });
  renameSync(tmp, libs);
}

/** What is missing, without installing anything. */
export function missingParts(config: Pick<Config, 'STACK_DIR'>): string[] {
  const apt = APT_NEEDS.filter((n) => n.missing()).map((n) => `${n.what} (apt: ${n.packages.join(' ')})`);
  const libs = kafkaLibsDir(config);
  return kafkaLibsPresent(libs) ? apt : [...apt, `Kafka broker jars (Maven Central -> ${libs})`];
}

/**
 * Installs what is missing: the Debian packages in one apt-get run (one dpkg lock, one download
 * pass), then the Kafka jars (Maven needs Java and Maven first). Returns the milliseconds spent,
 * 0 when nothing was missing (the usual case: a few file checks).
 */
export async function installStack(config: Pick<Config, 'STACK_DIR' | 'AUTO_INSTALL'>, log: StackLog): Promise<number> {
  const missing = missingParts(config);
  if (missing.length === 0) return 0;
  if (!config.AUTO_INSTALL) {
    throw new AppError('STACK_FAILED', `install: missing ${missing.join('; ')} and AUTO_INSTALL=false. Run \`npm run stack -- install\`.`);
  }
  const started = Date.now();
  const apt = APT_NEEDS.filter((n) => n.missing());
  if (apt.length > 0) {
    const t = Date.now();
    const packages = apt.flatMap((n) => n.packages);
    log.info(`installing ${apt.map((n) => n.what).join(', ')} with apt-get (${packages.join(' ')})…`);
    for (const need of apt) need.before?.(log);
    await aptInstall(packages, log);
    const still = apt.filter((n) => n.missing());
    if (still.length > 0) throw installFailure('apt-get install', `it succeeded but ${still.map((n) => n.what).join(', ')} is still missing`);
    log.info(`installed ${apt.map((n) => n.what).join(', ')} in ${seconds(Date.now() - t)}`);
  }
  const libs = kafkaLibsDir(config);
  if (!kafkaLibsPresent(libs)) {
    const t = Date.now();
    log.info(`fetching the Kafka broker jars from Maven Central (stack/kafka/pom.xml -> ${libs})…`);
    await fetchKafkaJars(libs);
    log.info(`fetched the Kafka broker jars in ${seconds(Date.now() - t)}`);
  }
  const ms = Date.now() - started;
  log.info(`install finished in ${seconds(ms)}`);
  return ms;
}
