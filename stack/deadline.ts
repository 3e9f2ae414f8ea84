/**
 * Every wait of the stack manager is bounded: a condition poll with a deadline, or a promise
 * raced against a timer. Nothing sleeps for a fixed time hoping something happened.
 */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects with a TimeoutError when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Checked before each attempt; a string aborts the poll at once with that reason. */
  readonly abortIf?: () => string | undefined;
}

/**
 * Calls `attempt` until it resolves, or the deadline passes. Returns the value; on timeout throws
 * a TimeoutError carrying the last attempt's error message.
 */
export async function pollUntil<T>(what: string, attempt: () => Promise<T>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  let last: unknown;
  for (;;) {
    const reason = options.abortIf?.();
    if (reason !== undefined) throw new Error(`${what}: ${reason}`);
    try {
      return await withTimeout(attempt(), Math.max(100, deadline - Date.now()), what);
    } catch (error) {
      last = error;
    }
    if (Date.now() + interval > deadline) {
      const detail = last instanceof Error ? last.message : String(last);
      throw new TimeoutError(`${what}: not ready after ${options.timeoutMs} ms (last error: ${detail})`);
    }
    await delay(interval);
  }
}
