import { describe, expect, test } from 'bun:test';
import { toSessionEventRow, toSessionEventRows } from '../../../consumers/clickhouse/rows.ts';
import { decodeSessionCompleted, encodeSessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { makeEvent } from '../../support/events.ts';

const RECEIVED = Date.parse('2026-01-31T12:00:05.250Z');

describe('toSessionEventRow', () => {
  test('maps every field, instants to unix seconds, differences to exact ms', () => {
    const event = makeEvent({
      id: '3f2b8c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f',
      sessionId: 'sess-1',
      userId: 'user-7',
      outcome: 'failed',
      score: 0.75,
      receivedAt: RECEIVED,
      durationMs: 61_999,
      clientLagMs: 120,
    });
    const row = toSessionEventRow(event, RECEIVED + 1_830);
    expect(row).toEqual({
      event_id: '3f2b8c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f',
      session_id: 'sess-1',
      user_id: 'user-7',
      outcome: 'failed',
      score: 0.75,
      duration_ms: 61_999,
      started_at: Math.floor((RECEIVED - 120 - 61_999) / 1000),
      completed_at: Math.floor((RECEIVED - 120) / 1000),
      received_at: Math.floor(RECEIVED / 1000),
      ingested_at: Math.floor((RECEIVED + 1_830) / 1000),
      ingested_at_ms: RECEIVED + 1_830,
      client_to_api_lag_ms: 120,
      api_to_analytics_lag_ms: 1_830,
    });
  });

  test('a missing score is NULL, not 0', () => {
    expect(toSessionEventRow(makeEvent({ receivedAt: RECEIVED, durationMs: 5 }), RECEIVED).score).toBeNull();
  });

  test('a client clock ahead of the API gives a negative client lag (kept, not clamped)', () => {
    const row = toSessionEventRow(makeEvent({ receivedAt: RECEIVED, durationMs: 5, clientLagMs: -2_000 }), RECEIVED);
    expect(row.client_to_api_lag_ms).toBe(-2_000);
  });

  test('works on what the consumer decodes from the wire (offset timestamps normalised)', () => {
    const wire = encodeSessionCompleted(makeEvent({ receivedAt: RECEIVED, durationMs: 1_500 }));
    const value = JSON.parse(wire.value) as { data: { startedAt: string } };
    // Same instant, written with an offset by some client.
    value.data.startedAt = new Date(RECEIVED - 1_500).toISOString().replace('Z', '+00:00');
    const decoded = decodeSessionCompleted(JSON.stringify(value));
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(toSessionEventRow(decoded.event, RECEIVED).duration_ms).toBe(1_500);
  });
});

describe('toSessionEventRows', () => {
  test('one row per event, in order, all with the batch ingestion instant', () => {
    const events = [1, 2, 3].map((i) => makeEvent({ receivedAt: RECEIVED + i, durationMs: i }));
    const rows = toSessionEventRows(events, RECEIVED + 10_000);
    expect(rows.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
    expect(new Set(rows.map((r) => r.ingested_at))).toEqual(new Set([Math.floor((RECEIVED + 10_000) / 1000)]));
    expect(rows.map((r) => r.api_to_analytics_lag_ms)).toEqual([9_999, 9_998, 9_997]);
  });

  test('an empty batch gives no rows', () => {
    expect(toSessionEventRows([], RECEIVED)).toEqual([]);
  });
});
