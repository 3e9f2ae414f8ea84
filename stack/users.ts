/**
 * Running a command as a service's OS user (postgres, clickhouse). `setpriv` execs in place, so
 * the pid we record is the server's own pid.
 */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../src/kernel/config.ts';
import { stackDir } from './paths.ts';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export function osUser(name: string): OsUser {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(':');
  if (fields === undefined || fields.length < 4) {
    throw new Error(`OS user "${name}" does not exist (it comes with the Debian package; is it installed?)`);
  }
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** argv that runs `argv` as `user` (a no-op wrapper when we already are that user). */
export function runAs(user: OsUser, argv: readonly string[]): string[] {
  if (process.getuid?.() === user.uid) return [...argv];
  return ['setpriv', `--reuid=${user.name}`, `--regid=${user.gid}`, '--init-groups', ...argv];
}

/**
 * Makes every folder from the repository root down to `dir` traversable (o+x) so the service's OS
 * user can reach its own folder; only folders inside the stack dir are changed.
 */
export function ensureTraversable(config: Pick<Config, 'STACK_DIR'>, dir: string): void {
  const root = stackDir(config);
  for (let d = dir; d.startsWith(root); d = dirname(d)) {
    const mode = statSync(d).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
    if (d === root) break;
  }
  // Folders above the stack dir are not ours to change: say so if they block the service user.
  for (let d = dirname(root); d !== dirname(d); d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(`${d} is not traversable by other users (mode ${(statSync(d).mode & 0o777).toString(8)}); the postgres/clickhouse users cannot reach ${root}`);
    }
  }
}
