/**
 * API keys at the edge: who may call a route, and how often.
 *
 * Keys are configured as `API_KEYS=name:scope+scope:sha256hex[:ratePerSecond],...`: only the
 * SHA-256 of a key is ever stored. Clients send `Authorization: Bearer <key>`. Which scope a
 * route needs is declared on the route itself (`auth`, see src/http/contract.ts); this module
 * only checks a key against a scope and keeps the rate limits.
 *
 * Each key has a token bucket (per API process: with API_WORKERS=N the effective limit is up to
 * N times higher) charged one token per event: a request costs one token, and a batch the rest
 * of its items once its body is read (chargeEvents). A batch may take the bucket into debt, so
 * a batch larger than the bucket can still pass, but the key then waits until time has paid the
 * debt back; a request that finds the bucket in debt is refused. Over time a key never gets
 * more events through than its rate.
 *
 * Everything here is pure (the clock is injected) and unit-tested; src/http/app.ts applies it.
 */
import { AppError } from '../kernel/errors.ts';
import { type ApiKey, type Scope, sha256Hex } from '../kernel/api-keys.ts';

/** Token bucket per key name; the bucket holds two seconds' worth. */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly now: () => number) {}

  #bucket(key: ApiKey): { tokens: number; at: number } {
    const now = this.now();
    const capacity = key.ratePerSecond * 2;
    const b = this.#buckets.get(key.name) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * key.ratePerSecond);
    b.at = now;
    this.#buckets.set(key.name, b);
    return b;
  }

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(key: ApiKey): number {
    const b = this.#bucket(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / key.ratePerSecond;
  }

  /**
   * Takes `tokens` more for a request already admitted by take(): allowed (0) unless the bucket
   * is in debt, and then it may go into debt; else the seconds until the debt is paid.
   */
  charge(key: ApiKey, tokens: number): number {
    if (tokens <= 0) return 0;
    const b = this.#bucket(key);
    if (b.tokens < 0) return -b.tokens / key.ratePerSecond;
    b.tokens -= tokens;
    return 0;
  }
}

export interface Authenticator {
  /** Throws UNAUTHORIZED (401), FORBIDDEN (403) or RATE_LIMITED (429); returns the key. */
  check(scope: Scope, authorization: string | null): ApiKey;
  /** Charges a request that carries `events` events the tokens beyond its first; throws RATE_LIMITED. */
  chargeEvents(key: ApiKey, events: number): void;
}

const rateLimited = (key: ApiKey, wait: number, what: string): AppError =>
  new AppError('RATE_LIMITED', `The API key "${key.name}" is over its limit of ${key.ratePerSecond} ${what} a second.`, {
    details: { retryAfterSeconds: Math.max(1, Math.ceil(wait)) },
  });

export function createAuthenticator(keys: readonly ApiKey[], now: () => number = Date.now): Authenticator {
  const byHash = new Map(keys.map((k) => [k.hash, k]));
  const limiter = new RateLimiter(now);
  const authenticator: Authenticator = {
    check(scope, authorization) {
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
      if (wait > 0) throw rateLimited(key, wait, 'events (requests and batch items)');
      return key;
    },
    chargeEvents(key, events) {
      const wait = limiter.charge(key, events - 1);
      if (wait > 0) throw rateLimited(key, wait, 'events (each batch item counts)');
    },
  };
  for (const key of byHash.values()) ownerOf.set(key, authenticator);
  return authenticator;
}

/** The key each request was admitted with, so a route can charge it per event. */
const admitted = new WeakMap<Request, ApiKey>();
/** The authenticator that holds each configured key's bucket (set once, not per request). */
const ownerOf = new WeakMap<ApiKey, Authenticator>();

export function recordAdmission(request: Request, key: ApiKey): void {
  admitted.set(request, key);
}

export function admittedKey(request: Request): ApiKey | undefined {
  return admitted.get(request);
}

/**
 * Charges the key that made `request` for the `events` events it carries (the first was charged
 * on admission). No-op when auth is off or the route is open. Throws RATE_LIMITED (429).
 */
export function chargeEvents(request: Request, events: number): void {
  const key = admitted.get(request);
  if (key !== undefined) ownerOf.get(key)?.chargeEvents(key, events);
}
