/**
 * Helpers of the hostile-input tests: the real API as a child process (`bun src/server.ts`) on a
 * fresh topic of the shared broker, with its read and analytics routes on the shared Postgres and
 * ClickHouse (reads only); a raw HTTP/1.1 client over Bun.connect that sends exactly the bytes it
 * is given (fetch would refuse or normalise much of what we want to send); and RSS of the child.
 */
import { afterAll } from 'bun:test';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicFactory } from '../../support/kafka.ts';
import { freePort } from '../../../scripts/lib/net.ts';
import { repoRoot } from '../../support/process.ts';

export interface FuzzTarget {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly logFile: string;
  alive(): boolean;
  rssMb(): number;
  /** GET /healthz answers 200 within 5 s. */
  healthy(): Promise<boolean>;
  logTail(lines?: number): string;
}

/**
 * Call at the top level of a test file: the topic and the process are cleaned up after the file.
 * `start()` spawns the API and waits until it is ready (producer connected).
 */
export function fuzzTarget(extraEnv: Record<string, string> = {}): { start(): Promise<FuzzTarget> } {
  const makeTopic = topicFactory();
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-api-'));
  let proc: Bun.Subprocess | undefined;
  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc?.kill('SIGKILL'), 15_000);
      await proc.exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async start() {
      const topic = await makeTopic('fuzz', 2);
      const port = freePort();
      const logFile = join(dir, 'api.log');
      const fd = openSync(logFile, 'a');
      const { KAFKA_DLQ_TOPIC: _d, ...inherited } = process.env;
      proc = Bun.spawn([process.execPath, join(repoRoot, 'src/server.ts')], {
        cwd: repoRoot,
        env: {
          ...inherited,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          API_WORKERS: '1',
          KAFKA_TOPIC: topic,
          LOG_LEVEL: 'warn',
          // This suite attacks the endpoints themselves; access control is tested on its own.
          APP_ENV: 'development',
          AUTH_DISABLED: 'true',
          ...extraEnv,
        },
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      const child = proc;
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}): ${readFileSync(logFile, 'utf8').slice(-2000)}`);
        const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('the API was not ready within 60 s');
        await Bun.sleep(200);
      }
      return {
        url,
        port,
        pid: child.pid,
        logFile,
        alive: () => child.exitCode === null && child.signalCode === null,
        rssMb: () => {
          const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
        },
        healthy: () => fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status === 200, () => false),
        logTail: (lines = 20) => readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n'),
      };
    },
  };
}

export interface RawResponse {
  /** HTTP status, or undefined when the server closed without answering. */
  readonly status: number | undefined;
  readonly head: string;
  readonly body: Uint8Array;
  /** The server closed the connection (rather than our deadline ending it). */
  readonly closedByServer: boolean;
  readonly timedOut: boolean;
  readonly ms: number;
}

export interface RawRequestOptions {
  /** Client deadline for the whole exchange. */
  readonly timeoutMs?: number;
  /** Send `bytes`, then hold the connection open without sending more (a stalled body). */
  readonly thenStall?: boolean;
  /** Send `bytes`, then close our side at once (a truncated request). */
  readonly thenClose?: boolean;
}

/**
 * Sends `bytes` on a new TCP connection to 127.0.0.1:port and collects whatever comes back until
 * the server closes, a full response with Content-Length arrived, or the deadline passes.
 */
export function rawRequest(port: number, bytes: Uint8Array | string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let done = false;
    let socketRef: { end(): void; terminate(): void } | undefined;
    const finish = (closedByServer: boolean, timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      const head = headEnd >= 0 ? all.subarray(0, headEnd).toString('latin1') : all.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({
        status: m ? Number(m[1]) : undefined,
        head,
        body: headEnd >= 0 ? all.subarray(headEnd + 4) : new Uint8Array(),
        closedByServer,
        timedOut,
        ms: performance.now() - started,
      });
      try {
        socketRef?.terminate();
      } catch {
        // already closed
      }
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    const complete = (): boolean => {
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      if (headEnd < 0) return false;
      const head = all.subarray(0, headEnd).toString('latin1');
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      return len !== null && all.length - headEnd - 4 >= Number(len[1]);
    };
    Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(socket) {
          socketRef = socket;
          let offset = 0;
          const pump = () => {
            while (offset < data.length) {
              const n = socket.write(data.subarray(offset));
              if (n <= 0) return; // wait for drain
              offset += n;
            }
            if (options.thenClose) socket.end();
          };
          pumps.set(socket, pump);
          pump();
        },
        drain(socket) {
          pumps.get(socket)?.();
        },
        data(_socket, chunk) {
          chunks.push(new Uint8Array(chunk));
          if (complete() && !options.thenStall) finish(false, false);
        },
        close() {
          finish(true, false);
        },
        end() {
          finish(true, false);
        },
        error() {
          finish(true, false);
        },
        connectError() {
          finish(true, false);
        },
      },
    }).catch(() => finish(true, false));
  });
}

const pumps = new WeakMap<object, () => void>();

/** A request head with CRLFs; `headers` may repeat names and hold any bytes (latin1). */
export function requestHead(method: string, target: string, headers: ReadonlyArray<readonly [string, string]>): string {
  return `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** head + body as bytes (the head is latin1, the body as given). */
export function withBody(head: string, body: Uint8Array | string): Uint8Array {
  const b = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}
