/**
 * A current ClickHouse for the chdb tier: PyPI's chdb-core (pinned in scripts/ensure-chdb.sh,
 * installed once into the git-ignored .venv-chdb/) run in-process by test/chdb/chdb-driver.py,
 * which this client feeds SQL one line at a time. Each `openChdb()` is its own Python process with
 * its own data directory (removed by `close()`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql_queries, sql_sets } from 'clickhouse-migrations/lib/sql-parse';
import { repoRoot } from '../support/process.ts';

export interface Chdb {
  /** The engine's version, e.g. `26.9.2.1`. */
  readonly version: string;
  /** Runs one statement; resolves with the result text, rejects with ClickHouse's message. */
  query(sql: string, format?: string): Promise<string>;
  /** Rows of a SELECT (JSONEachRow, 64-bit integers as numbers, as the 18.16 tests read them). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** The venv's python, installing chdb-core first if needed (once per machine; ~1 min). */
export function chdbPython(): string {
  const installed = spawnSync('sh', [join(repoRoot, 'scripts/ensure-chdb.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (installed.status !== 0) throw new Error(`scripts/ensure-chdb.sh failed (exit ${installed.status})`);
  return installed.stdout.trim();
}

export async function openChdb(): Promise<Chdb> {
  const dir = mkdtempSync(join(tmpdir(), 'chdb-tier-'));
  const proc = Bun.spawn([chdbPython(), join(import.meta.dir, 'chdb-driver.py'), dir], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  async function nextReply(): Promise<{ ok: boolean; data?: string; error?: string }> {
    for (;;) {
      const newline = pending.indexOf('\n');
      if (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        return JSON.parse(line) as { ok: boolean; data?: string; error?: string };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the chdb driver exited');
      pending += decoder.decode(value, { stream: true });
    }
  }
  const hello = await nextReply();
  let queue: Promise<unknown> = Promise.resolve();
  const query = (sql: string, format?: string): Promise<string> => {
    const run = queue.then(async () => {
      proc.stdin.write(`${JSON.stringify({ sql, format })}\n`);
      await proc.stdin.flush();
      const reply = await nextReply();
      if (!reply.ok) throw new Error(reply.error ?? 'chdb error');
      return reply.data ?? '';
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    version: hello.data ?? '?',
    query,
    async rows<T>(sql: string): Promise<T[]> {
      const text = await query(`${sql.trim().replace(/;\s*$/, '')}\nSETTINGS output_format_json_quote_64bit_integers = 0`, 'JSONEachRow');
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as T);
    },
    async close() {
      proc.stdin.end();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Applies the ClickHouse migrations in `database`, split exactly as clickhouse-migrations splits
 * them (its own parser), with their SET lines as settings.
 */
export async function applyMigrations(db: Chdb, database: string, files: ReadonlyArray<{ sql: string }>): Promise<void> {
  await db.query(`CREATE DATABASE IF NOT EXISTS ${database}`);
  await db.query(`USE ${database}`);
  for (const migration of files) {
    const sets = sql_sets(migration.sql) as Record<string, string>;
    for (const [name, value] of Object.entries(sets)) await db.query(`SET ${name} = ${value}`);
    for (const statement of sql_queries(migration.sql)) await db.query(statement);
  }
}
