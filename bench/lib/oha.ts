/**
 * oha, the load tool of every scenario: installed on first use from crates.io into the
 * git-ignored bench/.tools (pinned), run with JSON output, and parsed into the figures we report.
 */
import { Database } from 'bun:sqlite';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const OHA_VERSION = '1.16.0';
const TOOLS = resolve(import.meta.dir, '..', '.tools', 'oha');
const OHA = join(TOOLS, 'bin', 'oha');

export async function ensureOha(log: (line: string) => void): Promise<string> {
  if (existsSync(OHA)) return OHA;
  log(`installing oha ${OHA_VERSION} with cargo (first run only; several minutes)…`);
  const proc = Bun.spawn(['cargo', 'install', 'oha', '--locked', '--version', OHA_VERSION, '--root', TOOLS], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if ((await proc.exited) !== 0 || !existsSync(OHA)) throw new Error('cargo install oha failed (see the output above)');
  return OHA;
}

export interface LoadSpec {
  /** A URL, or with `urlRegex` a regex oha expands per request (distinct session ids). */
  readonly url: string;
  readonly urlRegex?: boolean;
  readonly method?: 'GET' | 'POST';
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly durationS: number;
  /** Fixed request rate (open-loop pacing); omitted = as fast as possible. */
  readonly qps?: number;
  /** With qps: measure latency from each request's scheduled time (no coordinated omission). */
  readonly latencyCorrection?: boolean;
  /** A file of request bodies, one per line; oha picks a random line per request (-Z). */
  readonly bodyLinesFile?: string;
  /** Per-request timeout in seconds (a timed-out request counts as a transport error). */
  readonly timeoutS?: number;
  /** Called with oha's pid once it runs (to watch its CPU). */
  readonly onSpawn?: (pid: number) => void;
  /** oha writes every succeeded request (start, corrected start, end) to this SQLite file at the end (--db-url). */
  readonly requestsDb?: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Transport errors (connection refused/reset...), not counting requests cut by the end of the run. */
  readonly errors: Readonly<Record<string, number>>;
  readonly non2xx: number;
  /** Wall time oha reports for the run, seconds. */
  readonly totalSeconds: number;
  /** 2xx answers per second of the run. */
  readonly okRps: number;
  /** Requests cut by the end of the run (not errors: the deadline aborts what is in flight). */
  readonly abortedAtDeadline: number;
}

interface OhaJson {
  summary: { requestsPerSec: number; slowest: number; total: number };
  latencyPercentiles: Record<string, number | null>;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number>;
}

const ms = (s: number | null | undefined) => Math.round((s ?? Number.NaN) * 1e5) / 100;

export async function runOha(oha: string, spec: LoadSpec): Promise<LoadResult> {
  const args = [oha, '--no-tui', '--output-format', 'json', '-z', `${spec.durationS}s`, '-c', String(spec.connections)];
  if (spec.qps !== undefined) args.push('-q', String(spec.qps));
  if (spec.qps !== undefined && spec.latencyCorrection) args.push('--latency-correction');
  if (spec.timeoutS !== undefined) args.push('-t', `${spec.timeoutS}s`);
  if (spec.method) args.push('-m', spec.method);
  for (const [k, v] of Object.entries(spec.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (spec.body !== undefined) args.push('-d', spec.body);
  if (spec.bodyLinesFile !== undefined) args.push('-Z', spec.bodyLinesFile);
  if (spec.urlRegex) args.push('--rand-regex-url');
  if (spec.requestsDb !== undefined) args.push('--db-url', spec.requestsDb);
  args.push(spec.url);
  const proc = Bun.spawn(args, { stdio: ['ignore', 'pipe', 'pipe'] });
  spec.onSpawn?.(proc.pid);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`oha exited ${code}: ${err.slice(-2000)}`);
  const j = JSON.parse(out) as OhaJson;
  const statuses = j.statusCodeDistribution ?? {};
  const errors = Object.fromEntries(
    Object.entries(j.errorDistribution ?? {}).filter(([k]) => !k.includes('aborted due to deadline')),
  );
  const abortedAtDeadline = Object.entries(j.errorDistribution ?? {})
    .filter(([k]) => k.includes('aborted due to deadline'))
    .reduce((a, [, n]) => a + n, 0);
  const ok = Object.entries(statuses)
    .filter(([st]) => st.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);
  const totalSeconds = j.summary.total;
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  const non2xx = Object.entries(statuses)
    .filter(([s]) => !s.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0);
  return {
    requests,
    rps: Math.round(j.summary.requestsPerSec),
    p50Ms: ms(j.latencyPercentiles['p50']),
    p90Ms: ms(j.latencyPercentiles['p90']),
    p99Ms: ms(j.latencyPercentiles['p99']),
    p999Ms: ms(j.latencyPercentiles['p99.9']),
    maxMs: ms(j.summary.slowest),
    statuses,
    errors,
    non2xx,
    totalSeconds,
    okRps: totalSeconds > 0 ? Math.round(ok / totalSeconds) : 0,
    abortedAtDeadline,
  };
}

/**
 * The requests oha wrote with `requestsDb`: each one's send time (the scheduled one when the run
 * was latency-corrected) in seconds from oha's start, and its latency from that time.
 */
export function readRequestsDb(path: string): { startS: number; latencyMs: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .query<{ startS: number; latencyMs: number }, []>(
        'SELECT coalesce(start_latency_correction, start) AS startS, (end - coalesce(start_latency_correction, start)) * 1000 AS latencyMs FROM oha',
      )
      .all();
  } finally {
    db.close();
  }
}
