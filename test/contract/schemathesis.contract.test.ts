/**
 * The HTTP contract, checked by a tool no one here wrote: schemathesis (PyPI, pinned in
 * requirements.txt, installed on first run into the git-ignored test/contract/.venv) runs every
 * check in positive and negative mode against the live API's /openapi.json, with an API key of
 * both scopes, and must find nothing. The narrow exclusions, each with its reason, are in
 * schemathesis.toml.
 *
 * The API is the real process (`bun src/server.ts`) on a free port, in production mode with
 * auth on, over the shared stack: its own fresh topic (writes land there and nowhere else), the
 * shared read model and analytics database (read only).
 */
import { beforeAll, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../src/kernel/api-keys.ts';
import { freePort } from '../../scripts/lib/net.ts';
import { topicFactory } from '../support/kafka.ts';
import { repoRoot, spawnBun, waitFor } from '../support/process.ts';

const HERE = join(repoRoot, 'test/contract');
const VENV = join(HERE, '.venv');
const SCHEMATHESIS = join(VENV, 'bin/schemathesis');
const REQUIREMENTS = join(HERE, 'requirements.txt');
/** Examples per operation and phase: bounds the run (about a minute here) while every check still runs. */
const MAX_EXAMPLES = 25;
const KEY = 'contract-test-key';

const run = async (cmd: string[], cwd = HERE): Promise<{ code: number; out: string }> => {
  const proc = Bun.spawn(cmd, { cwd, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
};

/** The pinned schemathesis, installed by the project itself when missing or at another version. */
async function ensureSchemathesis(): Promise<void> {
  const pinned = /^schemathesis==(\S+)$/m.exec(await Bun.file(REQUIREMENTS).text())?.[1];
  if (pinned === undefined) throw new Error('requirements.txt pins no schemathesis version');
  if (existsSync(SCHEMATHESIS) && (await run([SCHEMATHESIS, '--version'])).out.includes(`version ${pinned}`)) return;
  const started = Date.now();
  console.log(`[contract] installing schemathesis ${pinned} into test/contract/.venv …`);
  for (const step of [['python3', '-m', 'venv', VENV], [join(VENV, 'bin/pip'), 'install', '--quiet', '-r', REQUIREMENTS]]) {
    const r = await run(step);
    if (r.code !== 0) throw new Error(`${step.join(' ')} failed (${r.code}):\n${r.out}`);
  }
  console.log(`[contract] installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const freshTopic = topicFactory();

beforeAll(ensureSchemathesis, 300_000);

test('schemathesis: every check, positive and negative, finds nothing against /openapi.json', async () => {
  const topic = await freshTopic('contract', 1);
  const port = freePort();
  spawnBun('src/server.ts', {
    APP_ENV: 'production',
    AUTH_DISABLED: 'false',
    LOG_LEVEL: 'warn',
    KAFKA_ALLOW_UNREPLICATED: 'true',
    HTTP_PORT: String(port),
    KAFKA_TOPIC: topic,
    API_KEYS: `contract:ingest+read:${sha256Hex(KEY)}`,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API to be ready', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
  const started = Date.now();
  const r = await run([
    SCHEMATHESIS,
    '--config-file',
    join(HERE, 'schemathesis.toml'),
    'run',
    `${base}/openapi.json`,
    '--header',
    `Authorization: Bearer ${KEY}`,
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    String(Date.now() % 1_000_000),
  ]);
  const summary = r.out.split('\n').filter((l) => /Test cases|generated|passed|failures?|warnings? in/.test(l));
  console.log(`[contract] schemathesis took ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary.join(' | ').replace(/\s+/g, ' ')}`);
  if (r.code !== 0) console.log(r.out);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/Operations:\s+(\d+) selected \/ \1 total/);
}, 600_000);
