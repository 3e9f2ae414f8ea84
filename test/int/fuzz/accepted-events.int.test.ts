/**
 * A 202 promises the event reaches the read models. Property: whatever the write path accepts
 * (its own validation, `parseCompletion`), the consumers decode, Postgres stores (the real COPY +
 * upsert into a scratch schema) and ClickHouse stores faithfully (a scratch database) - for
 * hostile but possibly valid bodies: odd unicode in attributes, far-away instants and zones,
 * extreme numbers. One accepted event that a store refuses would stall its consumer's partition
 * (a store error is retried, never skipped); one the consumers cannot decode is a 202 that ends in
 * the dead-letter topic.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import fc from 'fast-check';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { projectBatch } from '../../../consumers/postgres/projection.ts';
import { createClickHouseInserter } from '../../../consumers/clickhouse/inserter.ts';
import { toSessionEventRows } from '../../../consumers/clickhouse/rows.ts';
import { decodeSessionCompleted, encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { parseCompletion, type SessionDeps } from '../../../src/sessions/service.ts';
import { clientFor, freshDatabase, select } from '../clickhouse/support.ts';
import { createScratchDb, type ScratchDb } from '../postgres/pg-helpers.ts';
import { hostileNumber, hostileString } from './arbitraries.ts';

const database = await freshDatabase('fuzz_accepted');
const ch = clientFor(database);
afterAll(() => ch.close());
let db: ScratchDb;
beforeAll(async () => {
  db = await createScratchDb('fuzz_accepted');
}, 60_000);
afterAll(() => db?.cleanup());

const NOW = Date.parse('2026-11-28T12:00:00.000Z');
let seq = 0;
const deps: SessionDeps = { now: () => NOW, newEventId: () => Bun.randomUUIDv7(), maxClockSkewMs: 300_000 };

/** An ISO string for `ms` written in the zone `offsetMin` minutes east of UTC (years 0000-9999 only). */
function isoIn(ms: number, offsetMin: number): string | undefined {
  const local = new Date(ms + offsetMin * 60_000);
  const y = local.getUTCFullYear();
  if (y < 0 || y > 9999) return undefined;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const sign = offsetMin < 0 ? '-' : '+';
  const off = Math.abs(offsetMin);
  const zone = offsetMin === 0 ? 'Z' : `${sign}${pad(Math.floor(off / 60))}:${pad(off % 60)}`;
  return `${pad(y, 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.${pad(local.getUTCMilliseconds(), 3)}${zone}`;
}

const instant = fc.oneof(
  fc.tuple(fc.integer({ min: Date.parse('0000-01-01T00:00:00Z'), max: NOW }), fc.integer({ min: -14 * 60, max: 14 * 60 })).map(([ms, off]) => isoIn(ms, off)),
  fc.tuple(fc.integer({ min: NOW - 3 * 86_400_000, max: NOW }), fc.constantFrom(0, 60, -300, 330, 840)).map(([ms, off]) => isoIn(ms, off)),
  fc.constantFrom('0000-01-01T00:00:00Z', '0000-01-01T00:30:00+01:00', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z', '1900-02-28T12:00:00-05:00'),
);

const attributeKey = fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/);
const fields = {
  userId: fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/) }, { weight: 1, arbitrary: hostileString }),
  score: fc.oneof(hostileNumber, fc.integer()),
  outcome: fc.constantFrom('completed', 'failed', 'abandoned'),
  attributes: fc.dictionary(attributeKey, fc.oneof(hostileString, hostileNumber, fc.boolean()), { maxKeys: 8 }),
};
/** Mostly plausible sessions (recent, ordered, any zone); some with instants from anywhere. */
const body = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        ...fields,
        completedMs: fc.integer({ min: NOW - 30 * 86_400_000, max: NOW + 240_000 }),
        durationMs: fc.oneof(fc.integer({ min: 0, max: 86_400_000 }), fc.integer({ min: 0, max: NOW })),
        zones: fc.tuple(fc.integer({ min: -14 * 60, max: 14 * 60 }), fc.integer({ min: -14 * 60, max: 14 * 60 })),
      })
      .map(({ completedMs, durationMs, zones, ...rest }) => ({
        ...rest,
        startedAt: isoIn(completedMs - durationMs, zones[0]),
        completedAt: isoIn(completedMs, zones[1]),
      })),
  },
  { weight: 1, arbitrary: fc.record({ ...fields, startedAt: instant, completedAt: instant }, { requiredKeys: ['userId', 'startedAt', 'completedAt'] }) },
);

interface Refusal {
  readonly where: string;
  readonly error: string;
  readonly body: unknown;
}

test('every event the write path accepts is decoded by the consumers and stored by Postgres and ClickHouse as sent', async () => {
  const store = createPgSessionStore(db.pool);
  const inserter = createClickHouseInserter(ch, database);
  const refusals: Refusal[] = [];
  let accepted = 0;
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(body, async (b) => {
      const sessionId = `acc-${++seq}`;
      let event: SessionCompleted;
      try {
        event = parseCompletion({ params: { sessionId }, body: b, idempotencyKey: undefined }, deps);
      } catch {
        rejected += 1; // a 422: nothing promised
        return;
      }
      accepted += 1;
      const decoded = decodeSessionCompleted(encodeSessionCompleted(event).value);
      if (!decoded.ok) {
        refusals.push({ where: 'consumer decode (202, then dead-lettered)', error: decoded.reason, body: b });
        return;
      }
      try {
        await store.apply(projectBatch([decoded.event]));
      } catch (error) {
        refusals.push({ where: 'Postgres (the consumer would retry this batch forever)', error: String((error as Error).cause ?? error), body: b });
      }
      try {
        await inserter.insert(toSessionEventRows([decoded.event], NOW));
        const [row] = await select<{ s: number; c: number }>(
          ch,
          `SELECT toUInt32(started_at) AS s, toUInt32(completed_at) AS c FROM session_events WHERE session_id = '${sessionId}'`,
        );
        const want = { s: Math.floor(Date.parse(decoded.event.data.startedAt) / 1000), c: Math.floor(Date.parse(decoded.event.data.completedAt) / 1000) };
        if (row?.s !== want.s || row?.c !== want.c) {
          refusals.push({ where: 'ClickHouse stored other instants than sent', error: `${JSON.stringify(row)} != ${JSON.stringify(want)}`, body: b });
        }
      } catch (error) {
        refusals.push({ where: 'ClickHouse', error: String((error as Error).cause ?? error), body: b });
      }
    }),
    { numRuns: 600 },
  );
  console.log(`[fuzz] accepted-events: ${accepted + rejected} cases, ${accepted} accepted, ${rejected} rejected (422), ${refusals.length} accepted but not stored as sent`);
  for (const r of refusals.slice(0, 5)) console.log(`[fuzz]   ${r.where}: ${r.error.slice(0, 200)} <- ${JSON.stringify(r.body).slice(0, 300)}`);
  expect(accepted).toBeGreaterThan(50);
  expect(refusals.map((r) => `${r.where}: ${r.error.slice(0, 120)}`)).toEqual([]);
}, 300_000);
