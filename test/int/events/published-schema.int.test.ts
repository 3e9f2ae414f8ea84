/**
 * The contract from the outside: a validator built ONLY from the published JSON Schema files
 * (the example subscriber's, ajv) accepts every message the real API produces, for varied valid
 * requests on both write endpoints; and every message carries the documented key and headers.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { loadEventValidator } from '../../../examples/subscriber.ts';
import { EVENT_VERSION } from '../../../src/kernel/events/session-completed.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { type ApiHandle, startApi } from '../../../src/server.ts';
import { readTopic, testConfig, topicFactory } from '../../support/kafka.ts';

const freshTopic = topicFactory();
let api: ApiHandle;
let topic: string;

beforeAll(async () => {
  topic = await freshTopic('published-schema', 3);
  api = startApi(testConfig, silentLogger(), { port: 0, topic });
  await api.connected;
});
afterAll(async () => {
  await api?.shutdown();
});

// Instants in the recent past (completedAt may not be in the future), some with a zone offset.
const completedMs = Math.floor(Date.now() / 1000) * 1000 - 120_000 + 37;
const completedAt = new Date(completedMs).toISOString();
const startedAt = new Date(completedMs - 95_250).toISOString();
const withOffset = (ms: number) => new Date(ms + 2 * 3600_000).toISOString().replace('Z', '+02:00');
const manyAttributes = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k.${i}:x-${i}`, i % 3 === 0 ? `v${i}` : i % 3 === 1 ? i * 0.5 : i % 2 === 0]));

/** Valid single-completion requests: [sessionId, body, headers]. */
const singles: Array<[string, Record<string, unknown>, Record<string, string>]> = [
  ['ps-full', { userId: 'ps-user-1', startedAt, completedAt, score: 99.5, outcome: 'failed', attributes: { level: 4, mode: 'solo', hard: false } }, {}],
  ['ps-minimal', { userId: 'ps-user-2', startedAt, completedAt }, {}],
  ['ps-abandoned', { userId: 'ps-user-1', startedAt, completedAt, outcome: 'abandoned', score: -3 }, {}],
  ['ps-completed', { userId: 'ps-user-3', startedAt, completedAt: startedAt, outcome: 'completed', score: 0 }, {}],
  ['ps-offsets', { userId: 'ps-user-3', startedAt: withOffset(completedMs - 1_000), completedAt: withOffset(completedMs) }, {}],
  ['ps-big', { userId: `U${'x'.repeat(126)}.`, startedAt, completedAt, attributes: manyAttributes }, {}],
  ['ps-unicode', { userId: 'ps:user_4-a.b', startedAt, completedAt, attributes: { note: 'é ü 漢字 😀 "quoted"', long: 'y'.repeat(1024) } }, {}],
  ['ps-idem', { userId: 'ps-user-5', startedAt, completedAt, score: 12 }, { 'idempotency-key': 'retry-1' }],
  ['ps-idem', { userId: 'ps-user-5', startedAt, completedAt, score: 12 }, { 'idempotency-key': 'retry-1' }], // the client's retry
];
const batchItems = [
  { sessionId: 'ps-b-1', userId: 'ps-user-6', startedAt, completedAt, outcome: 'completed', score: 1e-9 },
  { sessionId: 'ps-b-2', userId: 'ps-user-6', startedAt, completedAt, outcome: 'failed', attributes: { a: true } },
  { sessionId: 'ps-b-3', userId: 'ps-user-7', startedAt, completedAt, outcome: 'abandoned', idempotencyKey: 'batch-key-1', score: 123456789.125 },
];

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('what the API produces is valid by the published JSON Schema alone', () => {
  test('every message validates with ajv against schemas/*.json, with the documented key and headers', async () => {
    const ids: string[] = [];
    for (const [sessionId, body, headers] of singles) {
      const res = await post(`/sessions/${sessionId}/complete`, body, headers);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { eventId: string }).eventId);
    }
    const batch = await post('/sessions/complete', { items: batchItems });
    expect(batch.status).toBe(202);
    for (const r of ((await batch.json()) as { results: Array<{ eventId: string }> }).results) ids.push(r.eventId);
    expect(ids[7]).toBe(ids[8]); // the retry with the same Idempotency-Key: the same event id

    const expected = singles.length + batchItems.length;
    const messages = await readTopic(topic, (ms) => ms.length >= expected, 30_000);
    expect(messages).toHaveLength(expected);
    expect(messages.map((m) => m.headers['event-id']).sort()).toEqual([...ids].sort());

    const validate = loadEventValidator(); // reads schemas/*.json, nothing of our TypeScript
    for (const m of messages) {
      const result = validate(m.value);
      if (!result.ok) throw new Error(`message ${m.partition}/${m.offset} rejected by the published schema: ${result.reason}\n${m.value}`);
      const event = result.event;
      expect(event.version).toBe(EVENT_VERSION); // the API writes v1 until subscribers have v2 (docs/events.md)
      expect(m.key).toBe(event.data.userId);
      expect(m.headers).toEqual({
        'event-type': 'SessionCompleted',
        'event-version': String(event.version),
        'event-id': event.id,
        'content-type': 'application/json',
      });
      // As documented: instants in UTC with milliseconds, occurredAt = completedAt.
      for (const instant of [event.occurredAt, event.receivedAt, event.data.startedAt, event.data.completedAt]) {
        expect(instant).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      expect(event.occurredAt).toBe(event.data.completedAt);
    }

    // The varied inputs really reached the topic as such (not only the easy ones).
    const bySession = new Map(messages.map((m) => [(JSON.parse(m.value!) as { data: { sessionId: string } }).data.sessionId, JSON.parse(m.value!)]));
    expect(bySession.get('ps-minimal').data).toEqual({ sessionId: 'ps-minimal', userId: 'ps-user-2', startedAt, completedAt, outcome: 'completed' });
    expect(Object.keys(bySession.get('ps-big').data.attributes)).toHaveLength(32);
    expect(bySession.get('ps-unicode').data.attributes.note).toBe('é ü 漢字 😀 "quoted"');
    expect(bySession.get('ps-offsets').data.completedAt).toBe(completedAt);
    expect(new Set([...bySession.values()].map((e) => e.data.outcome))).toEqual(new Set(['completed', 'failed', 'abandoned']));
  }, 90_000);
});
