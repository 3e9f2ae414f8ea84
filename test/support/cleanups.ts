/**
 * Cleanups registered where a test makes something (a topic, a schema, a process). Call at the
 * top level of a test file; what is pushed onto the returned list runs after each test (or once
 * after the file's tests), last pushed first, and one failing cleanup does not stop the others.
 */
import { afterAll, afterEach } from 'bun:test';

export type Cleanup = () => Promise<unknown>;

export function registerCleanups(when: 'each' | 'file' = 'each'): Cleanup[] {
  const list: Cleanup[] = [];
  const run = async () => {
    while (list.length > 0) await list.pop()!().catch(() => undefined);
  };
  if (when === 'each') afterEach(run);
  else afterAll(run);
  return list;
}
