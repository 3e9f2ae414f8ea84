/**
 * API keys: who may call what, and how often.
 *
 * Keys are configured as `API_KEYS=name:scope+scope:sha256hex[:ratePerSecond],...`: only the
 * SHA-256 of a key is ever stored. Clients send `Authorization: Bearer <key>`. Two scopes:
 * `ingest` (the write path) and `read` (read model, analytics and their dashboard data).
 * Probes, metrics and API docs stay open. Each key has a token-bucket rate limit (per API
 * process: with API_WORKERS=N the effective limit is up to N times higher).
 *
 * Everything here is pure (the clock is injected) and unit-tested; src/http/app.ts applies it.
 */
import { AppError } from '../errors.ts';

export const SCOPES = ['ingest', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly hash: string;
  /** Requests per second; the bucket holds two seconds' worth. */
  readonly ratePerSecond: number;
}

export const DEFAULT_KEY_RATE_PER_SECOND = 100_000;

export const sha256Hex = (text: string): string => new Bun.CryptoHasher('sha256').update(text).digest('hex');

/** Parses API_KEYS; throws an Error naming the bad entry (the config module reports it). */
export function parseApiKeys(text: string): ApiKey[] {
  const keys = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i): ApiKey => {
      const [name, scopes, hash, rate, ...rest] = entry.split(':');
      const where = `entry ${i + 1} (${JSON.stringify(name ?? '')})`;
      if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`${where}: the name must be 1-64 of A-Z a-z 0-9 . _ -`);
      if (!hash || !/^[0-9a-f]{64}$/.test(hash)) throw new Error(`${where}: the third part must be the key's SHA-256 in lowercase hex`);
      if (rest.length > 0) throw new Error(`${where}: expected name:scopes:sha256[:ratePerSecond]`);
      const parsedScopes = (scopes ?? '').split('+').filter(Boolean);
      const unknown = parsedScopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (parsedScopes.length === 0 || unknown.length > 0) {
        throw new Error(`${where}: scopes must be ${SCOPES.join(' and/or ')} joined with +, got ${JSON.stringify(scopes ?? '')}`);
      }
      const ratePerSecond = rate === undefined || rate === '' ? DEFAULT_KEY_RATE_PER_SECOND : Number(rate);
      if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new Error(`${where}: the rate must be a positive number`);
      return { name, scopes: new Set(parsedScopes as Scope[]), hash, ratePerSecond };
    });
  const names = new Set<string>();
  for (const k of keys) {
    if (names.has(k.name)) throw new Error(`the key name ${JSON.stringify(k.name)} is used twice`);
    names.add(k.name);
  }
  return keys;
}

/** The scope a request needs, or undefined for open endpoints (probes, metrics, docs, 404s). */
export function requiredScope(method: string, path: string): Scope | undefined {
  if (method === 'POST' && path.startsWith('/sessions/')) return 'ingest';
  if (
    path.startsWith('/sessions/') ||
    path.startsWith('/users/') ||
    path === '/analytics' ||
    path.startsWith('/analytics/')
  ) {
    return 'read';
  }
  // /healthz, /readyz, /metrics, /openapi.json, /docs*, /dashboard page and its static assets
  // (the page holds no data; it fetches /analytics/* with a key).
  return undefined;
}

/** Token bucket per key name. */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly now: () => number) {}

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(key: ApiKey): number {
    const now = this.now();
    const capacity = key.ratePerSecond * 2;
    const b = this.#buckets.get(key.name) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * key.ratePerSecond);
    b.at = now;
    this.#buckets.set(key.name, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / key.ratePerSecond;
  }
}

export interface Authenticator {
  /** Throws UNAUTHORIZED (401), FORBIDDEN (403) or RATE_LIMITED (429); returns the key name. */
  check(method: string, path: string, authorization: string | null): string | undefined;
}

export function createAuthenticator(keys: readonly ApiKey[], now: () => number = Date.now): Authenticator {
  const byHash = new Map(keys.map((k) => [k.hash, k]));
  const limiter = new RateLimiter(now);
  return {
    check(method, path, authorization) {
      const scope = requiredScope(method, path);
      if (scope === undefined) return undefined;
      const match = authorization === null ? null : /^Bearer[ ]+(\S{1,512})\s*$/i.exec(authorization);
      if (!match?.[1]) {
        throw new AppError('UNAUTHORIZED', 'Send an API key as "Authorization: Bearer <key>".');
      }
      const key = byHash.get(sha256Hex(match[1]));
      if (key === undefined) throw new AppError('UNAUTHORIZED', 'The API key is not valid.');
      if (!key.scopes.has(scope)) {
        throw new AppError('FORBIDDEN', `The API key "${key.name}" does not have the "${scope}" scope this endpoint needs.`);
      }
      const wait = limiter.take(key);
      if (wait > 0) {
        throw new AppError('RATE_LIMITED', `The API key "${key.name}" is over its limit of ${key.ratePerSecond} requests a second.`, {
          details: { retryAfterSeconds: Math.max(1, Math.ceil(wait)) },
        });
      }
      return key.name;
    },
  };
}
