/**
 * Where the native stack keeps everything: one git-ignored folder (config STACK_DIR), resolved
 * against the repository root so the CLI behaves the same from any working directory.
 */
import { join, resolve } from 'node:path';
import { type Config, resolveStackDir } from '../src/kernel/config.ts';

/** The repository root: this file lives in <root>/stack. */
export const REPO_ROOT = resolve(import.meta.dir, '..');

export type ServiceName = 'kafka' | 'postgres' | 'clickhouse';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'postgres', 'clickhouse'];

export function stackDir(config: Pick<Config, 'STACK_DIR'>): string {
  return resolveStackDir(config.STACK_DIR);
}

/** The folders and files of one service. Every service has the same shape. */
export interface ServicePaths {
  readonly home: string;
  readonly data: string;
  readonly logs: string;
  readonly pidFile: string;
}

export function servicePaths(config: Pick<Config, 'STACK_DIR'>, name: ServiceName): ServicePaths {
  const home = join(stackDir(config), name);
  return {
    home,
    data: join(home, 'data'),
    logs: join(home, 'logs'),
    pidFile: join(home, `${name}.pid`),
  };
}
