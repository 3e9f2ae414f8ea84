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
import { AppError } from '../kernel/errors.ts';
import { type ApiKey, type Scope, sha256Hex } from '../kernel/api-keys.ts';

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
