/**
 * The write path against the real broker: what a 202 promises is on the topic, exactly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { partitionForKey } from '../../../src/kafka/partition.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { type ApiHandle, startApi } from '../../../src/server.ts';
import { readTopic, testConfig, topicFactory } from '../../support/kafka.ts';

const freshTopic = topicFactory();
let api: ApiHandle;
let topic: string;

beforeAll(async () => {
  topic = await freshTopic('write', 3);
  api = startApi(testConfig, silentLogger(), { port: 0, topic });
  await api.connected;
});
afterAll(async () => {
  await api?.shutdown();
});

// Instants in the recent past: completedAt may not be in the future.
const completedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000 + 250).toISOString();
const startedAt = new Date(Date.parse(completedAt) - 330_250).toISOString();
const body = (userId: string) => ({
  userId,
  startedAt,
  completedAt,
  score: 99.5,
  outcome: 'failed',
  attributes: { level: 4, mode: 'solo', hard: false },
});

const complete = (sessionId: string, payload: unknown, headers: Record<string, string> = {}) =>
  fetch(`${api.url}/sessions/${sessionId}/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });

describe('POST /sessions/:sessionId/complete against a real broker', () => {
  test('a 202 event is on the topic with the exact envelope, key and headers', async () => {
    const before = Date.now();
    const res = await complete('sess-exact-1', body('user-exact'));
    const after = Date.now();
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as { eventId: string };

    const messages = await readTopic(topic, (ms) => ms.some((m) => m.headers['event-id'] === eventId));
    const message = messages.find((m) => m.headers['event-id'] === eventId);
    expect(message).toBeDefined();
    expect(message?.key).toBe('user-exact');
    // The partition Kafka's Java client (and kafkajs's default partitioner) picks for that key.
    expect(message?.partition).toBe(partitionForKey('user-exact', 3));
    expect(message?.headers).toEqual({
      'event-type': 'SessionCompleted',
      'event-version': '1',
      'event-id': eventId,
      'content-type': 'application/json',
    });
    const envelope = JSON.parse(message?.value ?? 'null');
    const receivedAt = Date.parse(envelope.receivedAt);
    expect(receivedAt).toBeGreaterThanOrEqual(before);
    expect(receivedAt).toBeLessThanOrEqual(after);
    expect(envelope).toEqual({
      id: eventId,
      type: 'SessionCompleted',
      version: 1,
      occurredAt: completedAt,
      receivedAt: envelope.receivedAt,
      data: {
        sessionId: 'sess-exact-1',
        userId: 'user-exact',
        startedAt,
        completedAt,
        score: 99.5,
        outcome: 'failed',
        attributes: { level: 4, mode: 'solo', hard: false },
      },
    });
  });

  test('the same Idempotency-Key twice yields the same event id', async () => {
    const first = await complete('sess-idem', body('user-idem'), { 'idempotency-key': 'client-retry-1' });
    const second = await complete('sess-idem', body('user-idem'), { 'idempotency-key': 'client-retry-1' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const a = (await first.json()) as { eventId: string };
    const b = (await second.json()) as { eventId: string };
    expect(a.eventId).toBe(b.eventId);
    const on = await readTopic(topic, (ms) => ms.filter((m) => m.headers['event-id'] === a.eventId).length >= 2);
    // At-least-once on the topic: both copies carry the same id, so consumers dedupe.
    expect(on.filter((m) => m.headers['event-id'] === a.eventId)).toHaveLength(2);
  });

  test('concurrent requests are group-committed and every one is on the topic', async () => {
    const n = 300;
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) => complete(`sess-burst-${i}`, body(`user-${i % 17}`))),
    );
    expect(responses.map((r) => r.status).every((s) => s === 202)).toBe(true);
    const ids = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { eventId: string }).eventId)));
    expect(ids.size).toBe(n);
    const on = await readTopic(topic, (ms) => [...ids].every((id) => ms.some((m) => m.headers['event-id'] === id)));
    const found = new Set(on.map((m) => m.headers['event-id']));
    expect([...ids].filter((id) => !found.has(id))).toEqual([]);
    // Fewer batches than requests: the group commit did its job.
    const batches = await api.metrics.registry.getSingleMetricAsString('producer_batch_events');
    const count = Number(/producer_batch_events_count\{[^}]*\} (\d+)/.exec(batches)?.[1] ?? 'NaN');
    expect(count).toBeLessThan(n);
  });

  test('the batch endpoint puts every valid item on the topic and reports the rest', async () => {
    const res = await fetch(`${api.url}/sessions/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ sessionId: 'b-1', ...body('ub') }, { sessionId: 'b-2', ...body('') }, { sessionId: 'b-3', ...body('ub') }] }),
    });
    expect(res.status).toBe(207);
    const out = (await res.json()) as { results: Array<{ status: string; eventId?: string }> };
    expect(out.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted']);
    const ids = out.results.flatMap((r) => (r.eventId ? [r.eventId] : []));
    const on = await readTopic(topic, (ms) => ids.every((id) => ms.some((m) => m.headers['event-id'] === id)));
    expect(ids.every((id) => on.some((m) => m.headers['event-id'] === id))).toBe(true);
  });

  test('over the wire: 400, 413, 415, 422, 404, 405 are problem+json', async () => {
    const url = `${api.url}/sessions/s/complete`;
    const cases: Array<[RequestInit & { url?: string }, number]> = [
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' }, 400],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(testConfig.BODY_LIMIT_BYTES) }) }, 413],
      [{ method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 422],
      [{ method: 'GET', url: `${api.url}/nowhere` }, 404],
      [{ method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }, 405],
    ];
    for (const [init, status] of cases) {
      const res = await fetch(init.url ?? url, init);
      expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: 'application/problem+json' });
    }
  });

  test('readyz is ready once the producer is connected', async () => {
    const res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(200);
  });
});
