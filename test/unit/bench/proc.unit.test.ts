import { describe, expect, test } from 'bun:test';
import { ResourceMonitor, windowDeltas } from '../../../bench/lib/proc.ts';

describe('windowDeltas', () => {
  test('CPU per window from the cumulative CPU at the start, each boundary and the end', () => {
    expect(windowDeltas(10, [12.5, 13, 16], 16.25)).toEqual([2.5, 0.5, 3, 0.25]);
  });

  test('a run shorter than one window is one window', () => {
    expect(windowDeltas(1, [], 1.5)).toEqual([0.5]);
  });
});

describe('ResourceMonitor by window', () => {
  test("this process's CPU lands in the window it was spent in", async () => {
    const monitor = new ResourceMonitor([{ name: 'self', pid: process.pid }], 20, 500);
    monitor.start();
    // Spend 0.1 s of CPU (not of wall time: the machine may be busy), then idle two windows.
    const cpuAt = () => process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
    const from = cpuAt();
    while (cpuAt() - from < 0.1) Math.sqrt(Math.random());
    await Bun.sleep(1_100);
    const self = monitor.stop().self!;
    const windows = self.cpuByWindow!;
    expect(windows.length).toBeGreaterThanOrEqual(3);
    expect(windows.reduce((a, b) => a + b, 0)).toBeCloseTo(self.cpuSeconds, 1);
    // The busy part is at the start: the busiest window is the first (or the second, if the spin
    // crossed a boundary), and the last one, idle, holds little.
    const busiest = windows.indexOf(Math.max(...windows));
    expect(busiest).toBeLessThanOrEqual(1);
    expect(windows[busiest]!).toBeGreaterThanOrEqual(0.05);
    expect(windows.at(-1)!).toBeLessThan(0.05);
  });

  test('without a window there is no series', async () => {
    const monitor = new ResourceMonitor([{ name: 'self', pid: process.pid }], 20);
    monitor.start();
    await Bun.sleep(50);
    expect(monitor.stop().self!.cpuByWindow).toBeUndefined();
  });
});
