import { describe, expect, test } from 'bun:test';
import { rehearsalEvents, rehearsalMessages } from '../../../consumers/runtime/rehearsal.ts';
import { decodeSessionCompleted, requestHashOf } from '../../../src/kernel/events/session-completed.ts';
import { createClickHouseSink } from '../../../consumers/clickhouse/sink.ts';
import type { SessionEventInserter } from '../../../consumers/clickhouse/inserter.ts';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');

describe('the consumer rehearsal before joining', () => {
  test('every made-up message decodes through the topic decoder, in both versions, with and without a request hash', () => {
    const messages = rehearsalMessages(60, NOW);
    const decoded = messages.map((m) => decodeSessionCompleted(m));
    for (const d of decoded) expect(d).toMatchObject({ ok: true });
    const events = decoded.map((d) => (d.ok ? d.event : undefined)!);
    expect(new Set(events.map((e) => e.version))).toEqual(new Set([1, 2]));
    const keyed = events.filter((e) => e.requestHash !== undefined);
    expect(keyed.length).toBeGreaterThan(0);
    expect(keyed.length).toBeLessThan(events.length);
    // The hash is the one the API would have recorded for that data.
    for (const e of keyed) expect(e.requestHash).toBe(requestHashOf(e.data));
    expect(new Set(events.map((e) => e.data.outcome))).toEqual(new Set(['completed', 'failed', 'abandoned']));
    expect(events.some((e) => e.data.score === undefined) && events.some((e) => e.data.score !== undefined)).toBe(true);
  });

  test('cannot collide with real data: unique ids, and users and sessions under the rehearsal. prefix, new every run', () => {
    const a = rehearsalEvents(200, NOW);
    const b = rehearsalEvents(200, NOW);
    const ids = new Set([...a, ...b].map((e) => e.id));
    expect(ids.size).toBe(400);
    const sessions = new Set([...a, ...b].map((e) => e.data.sessionId));
    expect(sessions.size).toBe(400);
    for (const e of [...a, ...b]) {
      expect(e.data.userId.startsWith('rehearsal.')).toBe(true);
      expect(e.data.sessionId.startsWith('rehearsal.')).toBe(true);
    }
    // Several sessions per user, so the per-user aggregation runs as it does on real batches.
    expect(new Set(a.map((e) => e.data.userId)).size).toBeLessThan(a.length);
  });

  test('the instants are the ones the stores take: completed after started, within the last minute or two', () => {
    for (const e of rehearsalEvents(120, NOW)) {
      expect(Date.parse(e.data.completedAt)).toBeGreaterThan(Date.parse(e.data.startedAt));
      expect(NOW - Date.parse(e.data.completedAt)).toBeLessThan(120_000);
      expect(e.occurredAt).toBe(e.data.completedAt);
    }
  });

  test('the ClickHouse sink rehearses without sending anything', async () => {
    const sent: unknown[] = [];
    const inserter: SessionEventInserter = {
      insert: async (rows) => void sent.push(...rows),
      ping: async () => undefined,
    };
    const sink = createClickHouseSink({ inserter, now: () => NOW });
    await sink.rehearse?.(rehearsalEvents(50, NOW));
    expect(sink.rehearse).toBeDefined();
    expect(sent).toHaveLength(0);
    await sink.write(rehearsalEvents(3, NOW));
    expect(sent).toHaveLength(3); // the same sink does write real batches
  });
});
