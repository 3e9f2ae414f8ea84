/**
 * The known data of the docs/analytics.md test and the answer each query must give on it, shared
 * by the 18.16 test (analytics-docs.int.test.ts) and the current-ClickHouse tier
 * (test/chdb/clickhouse-current.chdb.test.ts), so both engines are held to the same numbers.
 * Every ```sql block of the doc is named (`-- query: name`) and has a check here; a block without
 * one fails both suites.
 */
import { expect } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toSessionEventRow, type SessionEventRow } from '../../../consumers/clickhouse/rows.ts';
import type { Outcome, SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { makeEvent } from '../../support/events.ts';

export const DOC = readFileSync(join(import.meta.dir, '../../../docs/analytics.md'), 'utf8');
export const BLOCKS = [...DOC.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => {
  const sql = m[1]!;
  const name = /--\s*query:\s*(\w+)/.exec(sql)?.[1];
  if (name === undefined) throw new Error(`a sql block in docs/analytics.md has no "-- query: name" line:\n${sql}`);
  return { name, sql };
});

// ---- the known data: 4 minutes, 20 minutes ago (inside every window of the doc)
const BASE_SEC = Math.floor(Date.now() / 60_000) * 60 - 20 * 60;
interface Known {
  event: SessionCompleted;
  pipelineLagMs: number;
}
export const known: Known[] = [];
for (let m = 0; m < 3; m++) {
  for (let i = 0; i < 10; i++) {
    known.push({
      event: makeEvent({
        receivedAt: (BASE_SEC + 60 * m + i * 3) * 1000 + 123,
        durationMs: (m + 1) * 1_000 + i * 37,
        clientLagMs: 20 + i,
        outcome: i % 3 === 0 ? 'failed' : 'completed',
        userId: `user-${i % 4}`,
      }),
      pipelineLagMs: 500 + m * 100 + i * 10,
    });
  }
}
for (let i = 0; i < 3; i++) {
  // A burst: three abandoned sessions of one user in the same second.
  known.push({
    event: makeEvent({ receivedAt: (BASE_SEC + 185) * 1000 + i * 100, durationMs: 90_000 + i, outcome: 'abandoned', userId: 'user-9' }),
    pipelineLagMs: 2_000,
  });
}
/** Redelivered (a second, later write of the same events): the 5 first events of minute 1. */
export const redelivered = known.slice(10, 15);
export const REDELIVERY_EXTRA_LAG_MS = 60_000;

// ---- the same numbers, computed here
const sec = (k: Known) => Math.floor(Date.parse(k.event.receivedAt) / 1000);
const minuteOf = (k: Known) => Math.floor(sec(k) / 60) * 60;
const hourOf = (k: Known) => Math.floor(sec(k) / 3600) * 3600;
const dt = (unixSec: number) => new Date(unixSec * 1000).toISOString().slice(0, 19).replace('T', ' ');
const duration = (k: Known) => Date.parse(k.event.data.completedAt) - Date.parse(k.event.data.startedAt);
const clientLag = (k: Known) => Date.parse(k.event.receivedAt) - Date.parse(k.event.data.completedAt);
/** ClickHouse's quantileExact: the element at floor(level * n) of the sorted values. */
const exact = (values: number[], level: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(level * sorted.length))]!;
};
/** ClickHouse's quantile (reservoir, exact below 8192 values): linear interpolation. */
const interpolated = (values: number[], level: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const index = level * (sorted.length - 1);
  const lo = Math.floor(index);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (index - lo);
};
function groupBy<K extends string | number>(items: Known[], key: (k: Known) => K): Map<K, Known[]> {
  const groups = new Map<K, Known[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
const byTimeAndOutcome = (bucket: (k: Known) => number, items: Known[]) =>
  [...groupBy(items, (k) => `${bucket(k)}|${k.event.data.outcome}`).entries()].map(([key, ks]) => {
    const [t, outcome] = key.split('|') as [string, Outcome];
    return { t: dt(Number(t)), outcome, ks };
  });

export type Row = Record<string, unknown>;
export const checks: Record<string, (rows: Row[]) => void> = {
  duration_per_minute_by_outcome: (rows) => {
    expect(rows).toEqual(
      byTimeAndOutcome(minuteOf, known).map(({ t, outcome, ks }) => {
        const d = ks.map(duration);
        const q = [exact(d, 0.5), exact(d, 0.95), exact(d, 0.99)];
        return { minute: t, outcome, sessions: ks.length, q, p50_ms: q[0], p95_ms: q[1], p99_ms: q[2] };
      }),
    );
  },
  duration_per_hour_by_outcome: (rows) => {
    expect(rows).toEqual(
      byTimeAndOutcome(hourOf, known).map(({ t, outcome, ks }) => {
        const d = ks.map(duration);
        const q = [exact(d, 0.5), exact(d, 0.95), exact(d, 0.99)];
        return { hour: t, outcome, sessions: ks.length, q, p50_ms: q[0], p95_ms: q[1], p99_ms: q[2] };
      }),
    );
  },
  duration_per_minute_by_outcome_rollup: (rows) => {
    // The rollup sees every delivery: the redelivered events count (and weigh) twice.
    const expected = byTimeAndOutcome(minuteOf, [...known, ...redelivered]);
    expect(rows.map((r) => [r.minute, r.outcome, r.deliveries])).toEqual(expected.map((e) => [e.t, e.outcome, e.ks.length]));
    expected.forEach(({ ks }, i) => {
      const d = ks.map(duration);
      const row = rows[i]!;
      expect(row.p50_ms as number).toBeCloseTo(interpolated(d, 0.5), 0);
      expect(row.p95_ms as number).toBeCloseTo(interpolated(d, 0.95), 0);
      expect(row.p99_ms as number).toBeCloseTo(interpolated(d, 0.99), 0);
    });
  },
  pipeline_lag_per_minute: (rows) => {
    expect(rows).toEqual(
      [...groupBy(known, minuteOf).entries()].map(([minute, ks]) => {
        const lag = ks.map((k) => k.pipelineLagMs); // first delivery, not the redelivery's
        const client = ks.map(clientLag);
        const pq = [exact(lag, 0.5), exact(lag, 0.95), exact(lag, 0.99)];
        const cq = [exact(client, 0.5), exact(client, 0.99)];
        return {
          minute: dt(minute),
          events: ks.length,
          pipeline_q: pq,
          pipeline_p50_ms: pq[0],
          pipeline_p95_ms: pq[1],
          pipeline_p99_ms: pq[2],
          client_q: cq,
          client_p50_ms: cq[0],
          client_p99_ms: cq[1],
        };
      }),
    );
  },
  throughput_per_minute: (rows) => {
    expect(rows).toEqual(
      [...groupBy(known, minuteOf).entries()].map(([minute, ks]) => ({
        minute: dt(minute),
        events: ks.length,
        events_per_second: Math.round((ks.length / 60) * 1000) / 1000,
        last_received_at: dt(Math.max(...ks.map(sec))),
      })),
    );
  },
  busiest_seconds: (rows) => {
    const perSecond = [...groupBy(known, sec).entries()]
      .map(([s, ks]) => ({ second: dt(s), events: ks.length }))
      .sort((a, b) => b.events - a.events || (a.second < b.second ? -1 : 1));
    expect(rows).toEqual(perSecond.slice(0, 10));
    expect(rows[0]).toEqual({ second: dt(BASE_SEC + 185), events: 3 });
  },
  slowest_users: (rows) => {
    const users = [...groupBy(known, (k) => k.event.data.userId).entries()]
      .filter(([, ks]) => ks.length >= 3)
      .map(([user_id, ks]) => {
        const d = ks.map(duration);
        return {
          user_id,
          sessions: ks.length,
          p95_ms: exact(d, 0.95),
          max_ms: Math.max(...d),
          avg_ms: Math.round((d.reduce((s, x) => s + x, 0) / d.length) * 10) / 10,
        };
      })
      .sort((a, b) => b.p95_ms - a.p95_ms || (a.user_id < b.user_id ? -1 : 1));
    expect(rows).toEqual(users.slice(0, 10));
    expect(rows[0]!.user_id).toBe('user-9');
  },
  duplicates_per_minute: (rows) => {
    expect(rows).toEqual([
      { minute: dt(BASE_SEC + 60), deliveries: 10 + redelivered.length, distinct_events: 10, redeliveries: redelivered.length },
    ]);
  },
  duplicate_rows_not_merged_yet: (rows) => {
    // Background merges may already have collapsed some duplicates: between 0 and all of them.
    expect(rows).toHaveLength(1);
    const row = rows[0] as { rows: number; events: number; duplicate_rows: number };
    expect(row.events).toBe(known.length);
    expect(row.duplicate_rows).toBe(row.rows - known.length);
    expect(row.duplicate_rows).toBeGreaterThanOrEqual(0);
    expect(row.duplicate_rows).toBeLessThanOrEqual(redelivered.length);
  },
};

/**
 * The rows the sink writes for the known events (first deliveries), and for the redeliveries
 * (the same events written again, later), as toSessionEventRow makes them.
 */
export function knownRows(): { first: SessionEventRow[]; again: SessionEventRow[] } {
  const rowOf = (k: Known, extraLag = 0) => toSessionEventRow(k.event, Date.parse(k.event.receivedAt) + k.pipelineLagMs + extraLag);
  return { first: known.map((k) => rowOf(k)), again: redelivered.map((k) => rowOf(k, REDELIVERY_EXTRA_LAG_MS)) };
}
