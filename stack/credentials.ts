/**
 * The native stack's passwords, generated once per install (issue 14). Before, ClickHouse's
 * `default` user had an empty password and DDL rights and the Postgres role was
 * sessions/sessions, so any process on the machine could write or drop the read models.
 *
 * `ensureStackCredentials` writes <STACK_DIR>/credentials.env (mode 0600) when it is missing and
 * never overwrites it (`npm run stack -- reset` deletes it with the data). src/kernel/config.ts
 * reads it in every process that talks to this stack; the Postgres and ClickHouse services set
 * the servers' passwords from the configuration (ALTER ROLE on every start, users.xml), and
 * `checkStackCredentials` refuses to set any other password than the file's: a configuration
 * loaded before the file existed would otherwise lock every other process out.
 *
 * Still a development stack: Kafka has no authentication at all (README, "This stack is for
 * development", says what production adds).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Config, readStackCredentials, type StackCredentials, stackCredentialsPath } from '../src/kernel/config.ts';
import { AppError } from '../src/kernel/errors.ts';
import { stackDir } from './paths.ts';

/** The read-only ClickHouse user the API's analytics (and analysts) use. */
export const CLICKHOUSE_READ_USER_NAME = 'sessions_reader';

const secret = (): string => randomBytes(24).toString('hex');

export function credentialsFileText(): string {
  return `# The native stack's passwords (stack/credentials.ts), generated once for this install.
# Every command of the project reads them from here (src/kernel/config.ts) when it talks to this
# stack; set DATABASE_URL / CLICKHOUSE_URL to use another server. \`npm run stack -- reset\`
# deletes this file with the data. Development only: see README, "Security: development stack vs production".
PG_PASSWORD=${secret()}
CLICKHOUSE_PASSWORD=${secret()}
CLICKHOUSE_READ_USER=${CLICKHOUSE_READ_USER_NAME}
CLICKHOUSE_READ_PASSWORD=${secret()}
`;
}

/**
 * Creates `<dir>/credentials.env` with fresh random passwords unless it exists (the folder too).
 * Exclusive create: of two processes racing, one writes and both then read the same file.
 */
export function ensureStackCredentials(dir: string): { readonly file: string; readonly created: boolean } {
  const file = stackCredentialsPath(dir);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(file, credentialsFileText(), { mode: 0o600, flag: 'wx' });
    return { file, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { file, created: false };
    throw error;
  }
}

/**
 * Throws (STACK_FAILED) when `used`, the credentials the stack is about to give `server`, differ
 * from the stack's credentials file. No file: nothing to compare (a stack from before the file,
 * or a private one started without it), the configuration's values stand.
 */
export function checkStackCredentials(config: Pick<Config, 'STACK_DIR'>, server: string, used: StackCredentials): void {
  const dir = stackDir(config);
  const stored = readStackCredentials(dir);
  if (stored === undefined) return;
  const differ = (Object.keys(used) as (keyof StackCredentials)[]).filter((k) => (stored[k] ?? '') !== (used[k] ?? ''));
  if (differ.length === 0) return;
  throw new AppError(
    'STACK_FAILED',
    `${server}: the configuration's ${differ.join(', ')} differ from ${stackCredentialsPath(dir)}, the passwords every ` +
      'other process uses for this stack. Either it was loaded before that file was made (start the stack through ' +
      '`npm run stack -- start`, `npm run up` or `npm test`, which make the file first), or the environment sets ' +
      `${differ.join('/')} or points ${server === 'postgres' ? 'DATABASE_URL' : 'CLICKHOUSE_URL'} elsewhere: unset them to use this stack.`,
    { details: { service: server, variables: differ } },
  );
}
