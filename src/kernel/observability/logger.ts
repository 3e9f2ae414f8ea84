/**
 * Structured JSON logs (pino) on stdout. One root logger per process, made from the config and
 * passed down; modules take a `Logger` argument and add their own bindings with `child`.
 */
import pino from 'pino';
import type { Config } from '../config.ts';

export type Logger = pino.Logger;

export function createLogger(
  config: Pick<Config, 'LOG_LEVEL'>,
  bindings: Record<string, unknown> = {},
  destination: pino.DestinationStream = pino.destination({ sync: false }),
): Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A logger that drops everything: for tests that do not look at logs. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
