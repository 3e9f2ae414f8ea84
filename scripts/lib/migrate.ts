/**
 * Applies the plain-SQL migrations of both stores, each recorded so it runs once:
 *
 *   migrations/postgres/*.sql    with dbmate (npm `dbmate`, which ships its Go binary).
 *       Files: <14-digit timestamp>_<name>.sql with `-- migrate:up` / `-- migrate:down`
 *       sections; recorded in the table schema_migrations. A well-kept, single-binary tool.
 *   migrations/clickhouse/*.sql  with `clickhouse-migrations` (npm, over HTTP via
 *       @clickhouse/client). Files: <number>_<name>.sql, the number a UInt32 (so `1_x.sql`, not a
 *       14-digit timestamp), statements split on `;`, `--` comments stripped (also inside
 *       strings: avoid `--` in literals). Recorded with an md5 checksum in <db>._migrations; an
 *       applied file must not change. It creates the database when missing.
 *       dbmate was the first choice for ClickHouse too, but against the ClickHouse 18.16 of the
 *       local stack it applies a migration without recording it, so the next run re-applies it
 *       (see ../shared/STACK-NOTES.md); clickhouse-migrations records correctly on 18.16 and on
 *       current ClickHouse.
 *
 * Both tools run as child processes: clickhouse-migrations' programmatic API calls
 * process.exit() on any error, which must not take down the caller (system start-up).
 *
 * Usage: `migrate(config, log)`; the command is scripts/migrate.ts (`npm run migrate`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBinary as dbmateBinary } from 'dbmate';
import type { Config } from '../../src/kernel/config.ts';
import { AppError } from '../../src/kernel/errors.ts';
import { describeExit, exec, type ExecResult, outputTail } from '../../stack/exec.ts';
import { seconds, type StackLog } from '../../stack/log.ts';
import { REPO_ROOT } from '../../stack/paths.ts';

export const MIGRATIONS_DIRS = {
  postgres: join(REPO_ROOT, 'migrations', 'postgres'),
  clickhouse: join(REPO_ROOT, 'migrations', 'clickhouse'),
} as const;

const CLICKHOUSE_MIGRATIONS_CLI = join(REPO_ROOT, 'node_modules', 'clickhouse-migrations', 'lib', 'cli.js');
const TOOL_TIMEOUT_MS = 120_000;
const UINT32_MAX = 4_294_967_295;

export interface MigrateOptions {
  /** Folders to read instead of migrations/postgres and migrations/clickhouse (tests). */
  readonly postgresDir?: string;
  readonly clickhouseDir?: string;
}

export interface MigrateResult {
  readonly postgres: readonly string[];
  readonly clickhouse: readonly string[];
  readonly ms: number;
}

function failure(store: 'postgres' | 'clickhouse', dir: string, what: string, result?: ExecResult): AppError {
  const detail = result === undefined ? '' : ` (${describeExit(result)})\n${outputTail(result, 30)}`;
  return new AppError('STACK_FAILED', `migrate ${store} (${dir}): ${what}${detail}`, {
    details: { step: 'migrate', store, dir },
  });
}

/** dbmate's lib/pq defaults to TLS; the local stack (and compose's network) speak plain TCP. */
function dbmateUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (!url.searchParams.has('sslmode') && ['127.0.0.1', 'localhost', 'postgres'].includes(url.hostname)) {
    url.searchParams.set('sslmode', 'disable');
  }
  return url.toString();
}

async function migratePostgres(config: Config, dir: string): Promise<string[]> {
  if (!existsSync(dir)) throw failure('postgres', dir, 'the migrations folder does not exist');
  const r = await exec(
    [dbmateBinary(), '--url', dbmateUrl(config.DATABASE_URL), '--migrations-dir', dir, '--no-dump-schema', '--wait', '--wait-timeout', '30s', 'up'],
    // No inherited env: dbmate would otherwise pick DATABASE_URL / DBMATE_* up from it.
    { timeoutMs: TOOL_TIMEOUT_MS, cwd: dir, env: { PATH: process.env.PATH } },
  );
  if (r.code !== 0) throw failure('postgres', dir, 'dbmate up failed', r);
  return [...r.stdout.matchAll(/^Applying: (.+)$/gm)].map((m) => (m[1] ?? '').trim());
}

/** clickhouse-migrations stores the file's number as UInt32: reject what it would mangle. */
function checkClickhouseNames(dir: string): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql'))) {
    const version = Number(file.split('_')[0]);
    if (!Number.isInteger(version) || version < 1 || version > UINT32_MAX) {
      throw failure('clickhouse', dir, `${file}: a ClickHouse migration is named <number>_<name>.sql with 1 <= number <= ${UINT32_MAX} (e.g. 3_add_column.sql)`);
    }
  }
}

async function migrateClickhouse(config: Config, dir: string): Promise<string[]> {
  if (!existsSync(dir)) throw failure('clickhouse', dir, 'the migrations folder does not exist');
  checkClickhouseNames(dir);
  const r = await exec(
    [
      process.execPath,
      CLICKHOUSE_MIGRATIONS_CLI,
      'migrate',
      `--host=${config.CLICKHOUSE_URL}`,
      `--user=${config.CLICKHOUSE_USER}`,
      `--password=${config.CLICKHOUSE_PASSWORD}`,
      `--db=${config.CLICKHOUSE_DATABASE}`,
      `--migrations-home=${dir}`,
    ],
    // No inherited env: the tool reads CH_MIGRATIONS_* (and substitutes ${VAR}s when asked).
    { timeoutMs: TOOL_TIMEOUT_MS, cwd: REPO_ROOT, env: { PATH: process.env.PATH, NO_COLOR: '1' } },
  );
  if (r.code !== 0) throw failure('clickhouse', dir, 'clickhouse-migrations failed', r);
  const applied = /The migration\(s\) (.+) was successfully applied/.exec(r.stdout)?.[1];
  return applied === undefined ? [] : applied.split(',').map((s) => s.trim());
}

/** Applies pending migrations of both stores (in parallel: they are independent). */
export async function migrate(config: Config, log: StackLog, options: MigrateOptions = {}): Promise<MigrateResult> {
  const started = Date.now();
  const pgDir = options.postgresDir ?? MIGRATIONS_DIRS.postgres;
  const chDir = options.clickhouseDir ?? MIGRATIONS_DIRS.clickhouse;
  const [pg, ch] = await Promise.allSettled([migratePostgres(config, pgDir), migrateClickhouse(config, chDir)]);
  const errors = [pg, ch].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new AppError('STACK_FAILED', errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n'), { cause: errors[0] });
  }
  const postgres = pg.status === 'fulfilled' ? pg.value : [];
  const clickhouse = ch.status === 'fulfilled' ? ch.value : [];
  const ms = Date.now() - started;
  const list = (xs: readonly string[]) => (xs.length === 0 ? 'up to date' : `applied ${xs.join(', ')}`);
  log.info(`migrate: postgres ${list(postgres)}; clickhouse ${list(clickhouse)} (${seconds(ms)})`);
  return { postgres, clickhouse, ms };
}
