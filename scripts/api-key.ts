/**
 * Makes an API key: prints the key once (give it to the client) and the API_KEYS entry that
 * holds only its SHA-256 (put it in the API's configuration).
 *
 *   bun scripts/api-key.ts create --name checkout-service --scopes ingest[,read] [--rate 5000]
 */
import { SCOPES } from '../src/kernel/api-keys.ts';
import { newApiKey } from './lib/api-key.ts';

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args[0] !== 'create' || !opt('--name') || !opt('--scopes')) {
    console.error(`usage: bun scripts/api-key.ts create --name NAME --scopes ${SCOPES.join(',')} [--rate PER_SECOND]`);
    process.exit(2);
  }
  try {
    const rate = opt('--rate');
    const { key, entry } = newApiKey(opt('--name') ?? '', (opt('--scopes') ?? '').split(','), rate === undefined ? undefined : Number(rate));
    console.log(`key (give to the client; shown once):  ${key}`);
    console.log(`API_KEYS entry (only the hash):        ${entry}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
