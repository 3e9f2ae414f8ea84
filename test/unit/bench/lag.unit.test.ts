import { describe, expect, test } from 'bun:test';
import { LagTracker } from '../../../bench/lib/lag.ts';

const groups = { postgres: 'g.pg', clickhouse: 'g.ch' };

/** A fake probe: both groups lag 500 messages until `zeroAfterMs` past `stoppedAt` (per group). */
function fakeProbe(zeroAfterMs: { pg: number; ch: number }) {
  const state = { stoppedAt: Number.POSITIVE_INFINITY };
  const probe = async () => {
    const since = performance.now() - state.stoppedAt;
    return [
      { groupId: groups.postgres, lag: since >= zeroAfterMs.pg ? 0 : 500 },
      { groupId: groups.clickhouse, lag: since >= zeroAfterMs.ch ? 0 : 500 },
    ];
  };
  return { probe, state };
}

describe('LagTracker', () => {
  test('times each group from the moment the load stops, without waiting out the once-a-second sampling', async () => {
    const { probe, state } = fakeProbe({ pg: 150, ch: 350 });
    const tracker = new LagTracker(probe, groups, { sampleEveryMs: 1_000, pollEveryMs: 10 });
    tracker.startDuringLoad();
    await Bun.sleep(50); // the sampling loop is now asleep for about a second
    // The tracker counts from its own clock reading in drain(), a few microseconds after this
    // line: the fake's "load stopped" is put 2 ms later so that the fake never turns zero before
    // the tracker's count reaches the threshold (it failed once in CI at 349 against 350).
    state.stoppedAt = performance.now() + 2;
    const d = await tracker.drain(5_000);
    expect(d.postgresMs!).toBeGreaterThanOrEqual(150);
    expect(d.postgresMs!).toBeLessThan(600);
    expect(d.clickhouseMs!).toBeGreaterThanOrEqual(350);
    expect(d.clickhouseMs!).toBeLessThan(800);
    expect(d.bothMs).toBe(d.clickhouseMs);
    expect(d.maxLagDuringLoad).toEqual({ postgres: 500, clickhouse: 500 });
    expect(d.samples[0]).toMatchObject({ postgres: 500, clickhouse: 500 });
    expect(d.samples.at(-1)).toMatchObject({ postgres: 0, clickhouse: 0 });
  });

  test("with the load's duration, the clock starts at its nominal end even if drain is called later", async () => {
    const { probe, state } = fakeProbe({ pg: 100, ch: 100 });
    const tracker = new LagTracker(probe, groups, { sampleEveryMs: 1_000, pollEveryMs: 10 });
    tracker.startDuringLoad();
    await Bun.sleep(100);
    state.stoppedAt = performance.now(); // the load ends at 100 ms...
    await Bun.sleep(200); // ...but the load tool reports 200 ms later, when the lag is already zero
    const d = await tracker.drain(5_000, 100);
    expect(d.postgresMs!).toBeGreaterThanOrEqual(200); // an upper bound: the first poll saw zero
    expect(d.postgresMs!).toBeLessThan(700);
  });

  test('a lag that never reaches zero gives null after the deadline; a failing probe is skipped', async () => {
    let calls = 0;
    const tracker = new LagTracker(
      async () => {
        if (calls++ % 2 === 0) throw new Error('broker slow');
        return [
          { groupId: groups.postgres, lag: 0 },
          { groupId: groups.clickhouse, lag: 7 },
        ];
      },
      groups,
      { sampleEveryMs: 1_000, pollEveryMs: 10 },
    );
    tracker.startDuringLoad();
    const t = performance.now();
    const d = await tracker.drain(150);
    expect(performance.now() - t).toBeLessThan(1_000);
    expect(d.postgresMs).not.toBeNull();
    expect(d.clickhouseMs).toBeNull();
    expect(d.bothMs).toBeNull();
    expect(d.deadlineMs).toBe(150);
  });
});
