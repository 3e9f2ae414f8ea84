/** The fault run's bookkeeping and rate choice (pure parts of scripts/lib/fault/). */
import { describe, expect, test } from 'bun:test';
import { RATE_POLICY, chooseRate } from '../../../scripts/lib/fault/calibrate.ts';
import { accountRequests } from '../../../scripts/lib/fault/scenario.ts';

describe('accountRequests', () => {
  test('every request sent is accounted for in the phase it was sent in, answered or not', () => {
    const summary = {
      started: 6,
      phases: [
        { phase: 'baseline', from: 0 },
        { phase: 'kafka-kill9#1', from: 3 },
        { phase: 'clickhouse-restart#2', from: 5 },
      ],
    };
    // Request 2 (baseline) and 5 (the last phase, in flight when the load stopped) left no record.
    const got = accountRequests(summary, [{ n: 0, id: 'e0' }, { n: 1 }, { n: 3 }, { n: 3, id: 'e3' }, { n: 4 }]);
    expect([...got]).toEqual([
      [0, { phase: 'baseline', answered: true, id: 'e0' }],
      [1, { phase: 'baseline', answered: true }],
      [2, { phase: 'baseline', answered: false }],
      [3, { phase: 'kafka-kill9#1', answered: true, id: 'e3' }],
      [4, { phase: 'kafka-kill9#1', answered: true }],
      [5, { phase: 'clickhouse-restart#2', answered: false }],
    ]);
  });

  test('an answer to a request the worker does not count as sent is a harness error, not a silent miss', () => {
    expect(() => accountRequests({ started: 2, phases: [{ phase: 'baseline', from: 0 }] }, [{ n: 2 }])).toThrow(/request 2/);
  });
});

describe('chooseRate', () => {
  test('a share of the measured rate, rounded down, between the floor and the documented rate', () => {
    expect(chooseRate(10_000).rate).toBe(RATE_POLICY.max);
    expect(chooseRate(2_000).rate).toBe(800);
    expect(chooseRate(2_120).rate).toBe(800); // 848 rounded down to 50
    expect(chooseRate(100).rate).toBe(RATE_POLICY.min);
    expect(chooseRate(100).reason).toContain('too slow');
    expect(chooseRate(2_000).reason).toContain('2000 req/s of 202s');
  });
});
