/**
 * A private, single-node Kafka broker for tests that must stop or kill a broker: the shared
 * stack's broker keeps serving everyone else. It reuses the jars the stack installed and lives
 * in its own temp folder on free ports; the cleanup that stops it and removes the folder is
 * registered (afterAll) where it is made.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/kernel/config.ts';
import { kafkaLibsDir } from '../../stack/install.ts';
import { kafkaService } from '../../stack/kafka.ts';
import { silentStackLog } from '../../stack/log.ts';
import { startService, stopService } from '../../stack/service.ts';
import { freePort } from '../../scripts/lib/net.ts';
import { registerCleanups } from './cleanups.ts';

export interface PrivateKafka {
  readonly config: Config;
  readonly brokers: string;
  pid(): number;
  /** kill -9: no shutdown hooks, no flush. */
  kill9(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Call at the top level of a test file (so the cleanup hook lands in that file's scope); then
 * `await launch()` in a beforeAll or a test.
 */
export function privateKafka(sharedConfig: Config): { launch(): Promise<PrivateKafka> } {
  const cleanups = registerCleanups('file');
  return { launch: () => launchPrivateKafka(sharedConfig, (c) => cleanups.push(c)) };
}

async function launchPrivateKafka(sharedConfig: Config, onCleanup: (c: () => Promise<void>) => void): Promise<PrivateKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'private-kafka-'));
  const kafkaPort = freePort();
  const config = loadConfig({
    STACK_DIR: dir,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(freePort()),
    KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    KAFKA_HEAP: '256m',
  });
  mkdirSync(join(dir, 'kafka'), { recursive: true });
  symlinkSync(kafkaLibsDir(sharedConfig), kafkaLibsDir(config));
  const def = kafkaService(config);
  onCleanup(async () => {
    await stopService(def, silentStackLog, 10_000);
    rmSync(dir, { recursive: true, force: true });
  });
  let pid = (await startService(def, silentStackLog, 120_000)).pid;
  return {
    config,
    brokers: `127.0.0.1:${kafkaPort}`,
    pid: () => pid,
    kill9: () => process.kill(pid, 'SIGKILL'),
    start: async () => {
      pid = (await startService(def, silentStackLog, 120_000)).pid;
    },
    stop: async () => {
      await stopService(def, silentStackLog, 10_000);
    },
  };
}
