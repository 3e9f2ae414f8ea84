/**
 * One stack operation at a time per stack dir (two `start`s racing would format or initdb the
 * same folder twice). The lock is a file holding the holder's pid; a dead holder's lock is stale.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../src/kernel/errors.ts';
import { delay } from './deadline.ts';
import type { StackLog } from './log.ts';
import { isAlive, readPidFile, removeFile } from './process.ts';

export async function withStackLock<T>(dir: string, timeoutMs: number, log: StackLog, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'stack.lock');
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPidFile(lock);
      if (holder === undefined || holder === process.pid || !isAlive(holder)) {
        removeFile(lock);
        continue;
      }
      if (Date.now() > deadline) {
        throw new AppError('STACK_FAILED', `another stack command (pid ${holder}) holds ${lock}; gave up waiting after ${timeoutMs} ms`);
      }
      if (!told) log.info(`waiting for another stack command (pid ${holder}) to finish…`);
      told = true;
      await delay(250);
    }
  }
  try {
    return await fn();
  } finally {
    removeFile(lock);
  }
}
