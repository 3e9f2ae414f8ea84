/**
 * API keys as configuration: their scopes, how `API_KEYS` is written, and the hash that is the
 * only thing ever stored. Pure; the config module parses with it, and the HTTP edge
 * (src/http/auth.ts) decides access with what it returns. It lives in the kernel so that
 * configuration never depends on HTTP code.
 */
export const SCOPES = ['ingest', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly hash: string;
  /** Events per second (a request is one, a batch one per item); the bucket holds two seconds' worth. */
  readonly ratePerSecond: number;
}

export const DEFAULT_KEY_RATE_PER_SECOND = 100_000;
/**
 * The lowest rate a key may have: its bucket holds two seconds' worth, and a request needs one
 * whole token, so a slower key could never make a single call.
 */
export const MIN_KEY_RATE_PER_SECOND = 0.5;

/**
 * SHA-256 of keys whose secret is public (the demo key compose.yaml once shipped,
 * `demo-key-change-me`). The API refuses to start in production with any of them configured.
 */
export const PUBLIC_KEY_HASHES: ReadonlySet<string> = new Set([
  '090d1548c9d65f413a1a2c828a0bee3a7ae02d2137caf51e6029e6c3cb1f1fa4',
]);

/** The configured keys whose secret is public, by name. */
export const publicKeys = (keys: readonly ApiKey[]): string[] => keys.filter((k) => PUBLIC_KEY_HASHES.has(k.hash)).map((k) => k.name);

/**
 * Lowercase hex SHA-256 of the UTF-8 text. Bun's one-shot hash: the API hashes the presented key
 * on every request, and a `CryptoHasher` object per call cost 2.5x as much (~0.9 µs against
 * ~0.36 µs, 2 % of the API's CPU at the closed-loop maximum).
 */
export const sha256Hex = (text: string): string => Bun.SHA256.hash(text, 'hex');

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
      if (ratePerSecond < MIN_KEY_RATE_PER_SECOND) {
        throw new Error(
          `${where}: the rate must be at least ${MIN_KEY_RATE_PER_SECOND} per second (the bucket holds two seconds' worth and a request needs one token), got ${ratePerSecond}`,
        );
      }
      return { name, scopes: new Set(parsedScopes as Scope[]), hash, ratePerSecond };
    });
  const names = new Set<string>();
  for (const k of keys) {
    if (names.has(k.name)) throw new Error(`the key name ${JSON.stringify(k.name)} is used twice`);
    names.add(k.name);
  }
  return keys;
}
