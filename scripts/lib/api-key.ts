/** Makes an API key and its API_KEYS entry (the CLI is scripts/api-key.ts; the benchmark and `npm start` use it too). */
import { randomBytes } from 'node:crypto';
import { parseApiKeys, sha256Hex } from '../../src/kernel/api-keys.ts';
export function newApiKey(name: string, scopes: readonly string[], rate?: number): { key: string; entry: string } {
  const key = `sk_${randomBytes(24).toString('base64url')}`;
  const entry = `${name}:${scopes.join('+')}:${sha256Hex(key)}${rate === undefined ? '' : `:${rate}`}`;
  parseApiKeys(entry); // the same checks the API applies at start-up
  return { key, entry };
}
