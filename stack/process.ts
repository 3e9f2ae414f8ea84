/**
 * Server processes of the stack: started detached (own session, output to a log file), tracked
 * by a pid file, recognised by their command line, stopped with a deadline.
 *
 * The rule: a pid from a pid file is ours only when /proc/<pid>/cmdline still shows the command
 * we started (binary and our config path). Anything else is a stale pid file; we remove the file
 * and never signal that process.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { delay } from './deadline.ts';
import { exec } from './exec.ts';

/** The argv of a process, or undefined when it is gone (or a zombie). */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name: "123 (java) S ...".
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  return readCmdline(pid) !== undefined;
}

/** 'zombie': exited, not yet reaped; it holds no ports or files, but kill(pid, 0) still succeeds. */
export function processState(pid: number): 'alive' | 'zombie' | 'gone' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? 'zombie' : 'alive';
  } catch {
    return 'gone';
  }
}

/** Decides whether a command line is the process we started. */
export type CmdlineMatcher = (argv: readonly string[]) => boolean;

/**
 * A matcher requiring the binary (argv[0], by base name) and every marker as a whole argument
 * (e.g. our config path), so another stack dir with a longer path never matches.
 */
export const cmdlineHas =
  (binary: string, ...markers: string[]): CmdlineMatcher =>
  (argv) => {
    const first = argv[0] ?? '';
    return (first === binary || first.endsWith(`/${binary}`)) && markers.every((m) => argv.includes(m));
  };

export function readPidFile(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export type PidState =
  | { readonly state: 'running'; readonly pid: number }
  | { readonly state: 'stopped' }
  | { readonly state: 'stale'; readonly pid: number; readonly reason: string };

/** Reads a pid file and says whether it names our live process. Does not change anything. */
export function inspectPidFile(pidFile: string, matches: CmdlineMatcher): PidState {
  const pid = readPidFile(pidFile);
  if (pid === undefined) {
    return existsSync(pidFile) ? { state: 'stale', pid: 0, reason: 'unreadable pid file' } : { state: 'stopped' };
  }
  const argv = readCmdline(pid);
  if (argv === undefined) return { state: 'stale', pid, reason: 'process is gone' };
  if (!matches(argv)) return { state: 'stale', pid, reason: `pid now belongs to another process (${argv.join(' ').slice(0, 120)})` };
  return { state: 'running', pid };
}

/** Written to a console log before each start, so a failure shows only its own run. */
export const START_MARKER = '===== stack:';

export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logFile: string;
  readonly pidFile: string;
}

/** Starts a server detached from this process (own session), output appended to its log. */
export function spawnDetached(spec: SpawnSpec): number {
  const [command, ...args] = spec.argv;
  if (command === undefined) throw new Error('spawnDetached: empty command');
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    writeFileSync(fd, `\n${START_MARKER} ${new Date().toISOString()} starting: ${spec.argv.join(' ')}\n`);
    const child = spawn(command, args, {
      cwd: spec.cwd,
      env: spec.env as NodeJS.ProcessEnv,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops our process: `signal` first, then SIGKILL when it has not exited by the deadline.
 * Re-checks the command line before each signal so a recycled pid is never hit.
 */
export async function stopProcess(
  pid: number,
  matches: CmdlineMatcher,
  options: { signal: NodeJS.Signals; timeoutMs: number },
): Promise<'stopped' | 'killed' | 'not-ours'> {
  const ours = () => {
    const argv = readCmdline(pid);
    return argv !== undefined && matches(argv);
  };
  if (!ours()) return 'not-ours';
  process.kill(pid, options.signal);
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (!ours()) return 'stopped';
    await delay(100);
  }
  if (ours()) process.kill(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline && ours()) await delay(50);
  return 'killed';
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/** Whether 127.0.0.1:port can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Best effort: "pid 123 (java ...)" of whoever listens on the port, from `ss`. */
export async function portHolder(port: number): Promise<string | undefined> {
  const r = await exec(['ss', '-Hltnp', `sport = :${port}`], { timeoutMs: 3_000 });
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(r.stdout);
  return match ? `pid ${match[2]} (${match[1]})` : undefined;
}

/** The last `n` lines of a text file ('' when it does not exist); reads only the file's end. */
export function tailFile(path: string, n: number, maxBytes = 256 * 1024): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (length < size) lines.shift(); // the first line is cut
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
