/**
 * v1 and v2 SessionCompleted messages on ONE topic, read by the real consumers (the shared
 * runtime with the Postgres and the ClickHouse sinks, each with its own group and a fresh
 * schema / database): both versions project exactly, nothing is dead-lettered, and a session
 * completed once in v1 and again in v2 resolves by (completedAt, id) as within one version.
 */
import { describe, expect, test } from 'bun:test';
import { registerCleanups } from '../../support/cleanups.ts';
import { Registry } from 'prom-client';
import { createClickHouseInserter } from '../../../consumers/clickhouse/inserter.ts';
import { createClickHouseSink } from '../../../consumers/clickhouse/sink.ts';
import { createPostgresSink } from '../../../consumers/postgres/sink.ts';
import { createPgSessionStore } from '../../../consumers/postgres/store.ts';
import { type BatchSink, createConsumer } from '../../../consumers/runtime/index.ts';
import { encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { freshDatabase, select, type StoredEventRow, testClickHouse } from '../clickhouse/support.ts';
import { makeEvent } from '../../support/events.ts';
import { aggregateFromSessions, createScratchDb, readSnapshot, referenceModel, roundStats } from '../postgres/pg-helpers.ts';
import { createTestTopic, testKafka as kafka, type TestTopic } from '../../support/kafka.ts';

const database = await freshDatabase('versions');
const cleanups = registerCleanups();

function startConsumer(t: TestTopic, groupId: string, sink: BatchSink) {
  const consumer = createConsumer({
    kafka,
    topic: t.topic,
    dlqTopic: t.dlqTopic,
    groupId,
    sink,
    batchMaxEvents: 50, // several batches, each mixing versions
    batchMaxWaitMs: 50,
    retryMaxBackoffMs: 200,
    retryBaseBackoffMs: 20,
    logger: silentLogger(),
    registry: new Registry(),
    fromBeginning: true,
  });
  cleanups.push(() => consumer.stop());
  return consumer;
}

/** The same completion as the v2 API would write it: version 2, clientVersion when given. */
const asV2 = (e: SessionCompleted, clientVersion?: string): SessionCompleted => ({
  ...e,
  version: 2,
  data: { ...e.data, ...(clientVersion === undefined ? {} : { clientVersion }) },
});

/**
 * A history as the topic holds it across the switch: sessions in v1 only, in v2 only (with and
 * without clientVersion), re-completed across versions both ways, and a v2 duplicate.
 */
function mixedVersionHistory(tag: string): SessionCompleted[] {
  const t0 = Date.parse('2026-05-01T08:00:00.000Z');
  const outcomes = ['completed', 'failed', 'abandoned'] as const;
  const out: SessionCompleted[] = [];
  for (let i = 0; i < 120; i++) {
    const base = makeEvent({
      sessionId: `${tag}-s-${i}`,
      userId: `${tag}-u-${i % 9}`,
      completedAt: new Date(t0 + i * 61_003).toISOString(),
      score: i % 4 === 0 ? null : (i * 7.25) % 100,
      outcome: outcomes[i % 3]!,
      ...(i % 5 === 0 ? { attributes: { level: i, mode: i % 2 ? 'solo' : 'duo', hard: i % 3 === 0 } } : {}),
    });
    const later = new Date(Date.parse(base.data.completedAt) + 30_000).toISOString();
    const earlier = new Date(Date.parse(base.data.completedAt) - 30_000).toISOString();
    switch (i % 6) {
      case 0: // v1 only: an old event, still on the topic
        out.push(base);
        break;
      case 1: // v2 with clientVersion
        out.push(asV2(base, `ios/5.${i % 3}.0`));
        break;
      case 2: // v2 whose client did not say
        out.push(asV2(base));
        break;
      case 3: // completed in v1, re-completed later in v2: the v2 event wins
        out.push(base, asV2(makeEvent({ sessionId: base.data.sessionId, userId: base.data.userId, completedAt: later, score: 99 }), 'web/2026.5.1'));
        break;
      case 4: // completed in v2, then a v1 event that completed earlier arrives: the v2 event stays
        out.push(asV2(base, 'android/3.1.4'), makeEvent({ sessionId: base.data.sessionId, userId: base.data.userId, completedAt: earlier, score: 1 }));
        break;
      default: {
        // a v2 duplicate (same id twice), e.g. a client retry with the same Idempotency-Key
        const v2 = asV2(base, 'ios/5.0.0');
        out.push(v2, v2);
      }
    }
  }
  return out;
}

/** The columns this test selects. */
type StoredRow = Omit<StoredEventRow, 'api_to_analytics_lag_ms' | 'ingested_at_ms'>;

describe('v1 and v2 on the same topic, through the real consumers', () => {
  test('both versions project exactly into Postgres and ClickHouse; none is dead-lettered', async () => {
    const t = await createTestTopic('versions', 3);
    cleanups.push(() => t.cleanup());
    const db = await createScratchDb('t_versions');
    cleanups.push(() => db.cleanup());
    const chGroup = `${t.groupId}.clickhouse`;
    cleanups.push(() => t.admin.deleteGroups([chGroup]).then(() => undefined));

    const history = mixedVersionHistory('mv');
    const versions = history.map((e) => e.version);
    expect(versions.filter((v) => v === 1).length).toBeGreaterThan(30);
    expect(versions.filter((v) => v === 2).length).toBeGreaterThan(60);
    await t.send(history); // encoded as each version's producer writes it (value, key, headers)

    const pg = startConsumer(t, t.groupId, createPostgresSink(createPgSessionStore(db.pool), silentLogger()));
    const ch = startConsumer(t, chGroup, createClickHouseSink({ inserter: createClickHouseInserter(testClickHouse, database) }));
    await Promise.all([pg.start(), ch.start()]);
    await Promise.all([pg.whenCaughtUp(90_000), ch.whenCaughtUp(90_000)]);

    // Nothing dead-lettered: both versions decoded.
    const dlq = await t.admin.fetchTopicOffsets(t.dlqTopic);
    expect(dlq.map((p) => p.high)).toEqual(dlq.map(() => '0'));

    // Postgres: the read model equals the reference model of the same events, row for row.
    const model = referenceModel([history]);
    const actual = await readSnapshot(db.pool);
    expect(actual.sessions.size).toBe(120);
    expect(Object.fromEntries(actual.sessions)).toEqual(Object.fromEntries(model.sessions));
    expect(roundStats(actual.stats)).toEqual(roundStats(model.stats));
    expect(actual.stats).toEqual(await aggregateFromSessions(db.pool));
    // ...and, spelled out, the sessions that crossed versions kept the right event.
    const crossedUp = history.filter((e) => e.data.sessionId === 'mv-s-3');
    expect(crossedUp.map((e) => e.version)).toEqual([1, 2]);
    expect(actual.sessions.get('mv-s-3')).toMatchObject({ eventId: crossedUp[1]!.id, score: 99 });
    const crossedDown = history.filter((e) => e.data.sessionId === 'mv-s-4');
    expect(crossedDown.map((e) => e.version)).toEqual([2, 1]);
    expect(actual.sessions.get('mv-s-4')).toMatchObject({ eventId: crossedDown[0]!.id });
    expect(actual.sessions.get('mv-s-0')).toMatchObject({ eventId: history[0]!.id, durationMs: Date.parse(history[0]!.data.completedAt) - Date.parse(history[0]!.data.startedAt) });

    // ClickHouse: one row per event id (the v2 duplicates collapse), every column as the event says.
    const unique = new Map(history.map((e) => [e.id, e]));
    const byId = (a: StoredRow, b: StoredRow) => (a.event_id < b.event_id ? -1 : 1); // ClickHouse orders UUIDs its own way
    const rows = await select<StoredRow>(
      testClickHouse,
      `SELECT event_id, session_id, user_id, outcome, score, duration_ms, toUInt32(started_at) AS started_at,
              toUInt32(completed_at) AS completed_at, toUInt32(received_at) AS received_at, client_to_api_lag_ms
       FROM ${database}.session_events FINAL WHERE user_id LIKE 'mv-%'`,
    ).then((r) => r.sort(byId));
    expect(rows).toHaveLength(unique.size);
    const expected = [...unique.values()]
      .map((e): StoredRow => ({
        event_id: e.id,
        session_id: e.data.sessionId,
        user_id: e.data.userId,
        outcome: e.data.outcome,
        score: e.data.score ?? null,
        duration_ms: Date.parse(e.data.completedAt) - Date.parse(e.data.startedAt),
        started_at: Math.floor(Date.parse(e.data.startedAt) / 1000),
        completed_at: Math.floor(Date.parse(e.data.completedAt) / 1000),
        received_at: Math.floor(Date.parse(e.receivedAt) / 1000),
        client_to_api_lag_ms: Date.parse(e.receivedAt) - Date.parse(e.data.completedAt),
      }))
      .sort(byId);
    expect(rows).toEqual(expected);
  }, 180_000);
});

// The messages really are what each version's producer writes (a guard on the test itself).
test('the history puts v1 and v2 messages on the wire with matching headers', () => {
  for (const e of mixedVersionHistory('hdr')) {
    const m = encodeSessionCompleted(e);
    expect(JSON.parse(m.value).version).toBe(e.version);
    expect(m.headers['event-version']).toBe(String(e.version));
    expect('clientVersion' in JSON.parse(m.value).data).toBe(e.version === 2 && e.data.clientVersion !== undefined);
  }
});
