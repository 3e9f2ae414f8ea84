/**
 * Runs a command to completion with a deadline and captures its output: used for installs,
 * storage formatting and bootstrap SQL. Long-running servers go through process.ts instead.
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface ExecOptions {
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly input?: string;
  /** Streams the output to this process's stderr as well (long installs show progress). */
  readonly echo?: boolean;
}

export function exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('exec: empty command');
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv | undefined,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      if (options.echo) process.stderr.write(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (options.echo) process.stderr.write(b);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    };
    child.on('error', (error) => {
      err.push(Buffer.from(String(error)));
      finish(127, null);
    });
    child.on('close', finish);
  });
}

/** The last `n` lines of a command's combined output, for error messages. */
export function outputTail(result: ExecResult, n = 20): string {
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-n).join('\n');
}

export const describeExit = (r: ExecResult): string =>
  r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
