/**
 * What the stack manager reports while it works. A pino Logger fits this shape, so
 * scripts/system.ts can pass its own; the CLI passes plain console lines a person reads.
 */
export interface StackLog {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleStackLog = (prefix = '[stack]'): StackLog => ({
  info: (message) => console.log(`${prefix} ${message}`),
  warn: (message) => console.warn(`${prefix} ${message}`),
});

export const silentStackLog: StackLog = { info: () => {}, warn: () => {} };

/** 1234 -> "1.2 s". */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * kafkajs 2.2.4 calls setTimeout with a negative delay when no request is pending
 * (requestQueue.scheduleCheckPendingRequests); Bun clamps it to 1 ms and prints a
 * TimeoutNegativeWarning on every run. Harmless: hide that one warning, print the others.
 */
export function hideKafkajsTimerWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name !== 'TimeoutNegativeWarning') console.warn(`${w.name}: ${w.message}`);
  });
}
