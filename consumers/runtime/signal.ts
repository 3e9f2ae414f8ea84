/**
 * A wake-up call between the fetch side and the run loop: `wait(ms)` resolves on the next
 * `notify()` or after `ms`, whichever comes first. No lost timers: each wait clears its own.
 */
export class Signal {
  private waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.push(done);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
