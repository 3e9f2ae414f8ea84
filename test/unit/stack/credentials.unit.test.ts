/**
 * The native stack's generated passwords (stack/credentials.ts): the file is made once, 0600,
 * never overwritten; the servers are only ever configured with its passwords; ClickHouse's
 * users.xml holds hashes, and the reader's profile is read-only without DDL.
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, readStackCredentials } from '../../../src/kernel/config.ts';
import { clickhouseUsersXml } from '../../../stack/clickhouse.ts';
import { CLICKHOUSE_READ_USER_NAME, checkStackCredentials, ensureStackCredentials } from '../../../stack/credentials.ts';
import { emptyStackDir } from '../../support/hermetic-config.ts';

const root = emptyStackDir();
const sha256 = (s: string) => new Bun.CryptoHasher('sha256').update(s).digest('hex');

describe('ensureStackCredentials', () => {
  test('makes the folder and a 0600 file of random passwords once, and never overwrites it', () => {
    const dir = join(mkdtempSync(join(root, 'a-')), 'not-yet', '.stack');
    const first = ensureStackCredentials(dir);
    expect(first.created).toBe(true);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const text = readFileSync(first.file, 'utf8');
    expect(text.startsWith('# ')).toBe(true);
    const c = readStackCredentials(dir);
    expect(c?.CLICKHOUSE_READ_USER).toBe(CLICKHOUSE_READ_USER_NAME);
    const secrets = [c?.PG_PASSWORD, c?.CLICKHOUSE_PASSWORD, c?.CLICKHOUSE_READ_PASSWORD];
    for (const s of secrets) expect(s).toMatch(/^[0-9a-f]{48}$/);
    expect(new Set(secrets).size).toBe(3);

    expect(ensureStackCredentials(dir)).toEqual({ file: first.file, created: false });
    expect(readFileSync(first.file, 'utf8')).toBe(text);
    const other = mkdtempSync(join(root, 'b-'));
    ensureStackCredentials(other);
    expect(readStackCredentials(other)?.PG_PASSWORD).not.toBe(c?.PG_PASSWORD);
  });
});

describe('checkStackCredentials', () => {
  test('passes without a file or with the same passwords, refuses others naming the variables', () => {
    const dir = mkdtempSync(join(root, 'c-'));
    const config = { STACK_DIR: dir };
    expect(() => checkStackCredentials(config, 'postgres', { PG_PASSWORD: 'sessions' })).not.toThrow();
    ensureStackCredentials(dir);
    const stored = readStackCredentials(dir) ?? {};
    expect(() => checkStackCredentials(config, 'postgres', { PG_PASSWORD: stored.PG_PASSWORD })).not.toThrow();
    expect(() => checkStackCredentials(config, 'postgres', { PG_PASSWORD: 'sessions' })).toThrow(/postgres: the configuration's PG_PASSWORD differ from .*credentials\.env/);
    const loadedBefore = { CLICKHOUSE_PASSWORD: '', CLICKHOUSE_READ_USER: undefined, CLICKHOUSE_READ_PASSWORD: '' };
    expect(() => checkStackCredentials(config, 'clickhouse', loadedBefore)).toThrow('CLICKHOUSE_PASSWORD, CLICKHOUSE_READ_USER, CLICKHOUSE_READ_PASSWORD');
  });
});

describe('clickhouseUsersXml', () => {
  test('the app user and a read-only reader, passwords stored as SHA-256 only', () => {
    const dir = mkdtempSync(join(root, 'd-'));
    ensureStackCredentials(dir);
    const config = loadConfig({ STACK_DIR: dir });
    const xml = clickhouseUsersXml(config);
    for (const secret of [config.CLICKHOUSE_PASSWORD, config.CLICKHOUSE_READ_PASSWORD]) {
      expect(xml).not.toContain(secret);
      expect(xml).toContain(`<password_sha256_hex>${sha256(secret)}</password_sha256_hex>`);
    }
    const user = (name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml.slice(xml.indexOf('<users>')))?.[1] ?? '';
    expect(user('default')).toContain('<profile>default</profile>');
    expect(user(CLICKHOUSE_READ_USER_NAME)).toContain('<profile>readonly</profile>');
    const readonlyProfile = /<profiles>[\s\S]*?<readonly>([\s\S]*?)<\/readonly>\s*<\/profiles>/.exec(xml)?.[1] ?? '';
    // 2, not 1: the client sends settings with its queries (see clickhouseUsersXml).
    expect(readonlyProfile).toContain('<readonly>2</readonly>');
    expect(readonlyProfile).toContain('<allow_ddl>0</allow_ddl>');
  });

  test('without CLICKHOUSE_READ_USER, only the app user', () => {
    const xml = clickhouseUsersXml(loadConfig({ STACK_DIR: root, CLICKHOUSE_PASSWORD: 'pw' }));
    expect(xml.match(/<password_sha256_hex>/g)?.length).toBe(1);
    expect(xml).toContain(sha256('pw'));
  });
});

test('a credentials file with a foreign line keeps only the known keys', () => {
  const dir = mkdtempSync(join(root, 'e-'));
  writeFileSync(join(dir, 'credentials.env'), 'PG_PASSWORD=x\nDATABASE_URL=postgres://evil\n  CLICKHOUSE_PASSWORD=y  \n');
  expect(readStackCredentials(dir)).toEqual({ PG_PASSWORD: 'x', CLICKHOUSE_PASSWORD: 'y' });
});
