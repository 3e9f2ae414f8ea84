/**
 * loadConfig reads <STACK_DIR>/credentials.env, the native stack's generated passwords
 * (stack/credentials.ts). A unit test that checks defaults must not depend on whether the
 * developer's .stack has that file: it passes this STACK_DIR, an empty folder of its own.
 * Call at a test file's top level (the folder is removed after the file's tests).
 */
import { afterAll } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function emptyStackDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'no-stack-credentials-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
