import { describe, expect, test } from 'bun:test';
import { type PlannedRequest, DEFAULT_MIX, createTraffic, ohaBodyLines } from '../../../bench/lib/traffic.ts';
import { BatchItem, CompleteSessionBody, SessionParams } from '../../../src/sessions/model.ts';

const NOW = Date.parse('2026-11-28T12:00:00.000Z');
const plan = (n: number, seed = 1) => {
  const t = createTraffic({ seed, users: 500, zipfS: 1.1, idPrefix: 'r1-', now: () => NOW });
  return Array.from({ length: n }, () => t.next());
};
const sessionOf = (p: PlannedRequest) => /^\/sessions\/([^/]+)\/complete$/.exec(p.path)?.[1] ?? '';

describe('createTraffic', () => {
  const requests = plan(20_000);

  test('the same seed gives the same plan (bodies and keys alike)', () => {
    expect(plan(500, 9)).toEqual(plan(500, 9));
    expect(plan(50, 9)).not.toEqual(plan(50, 10));
  });

  test('the mix is close to the configured shares', () => {
    const share = (kind: PlannedRequest['kind']) => requests.filter((r) => r.kind === kind).length / requests.length;
    expect(Math.abs(share('retry') - DEFAULT_MIX.retryShare)).toBeLessThan(0.01);
    expect(Math.abs(share('invalid') - DEFAULT_MIX.invalidShare)).toBeLessThan(0.01);
    expect(Math.abs(share('batch') - DEFAULT_MIX.batchShare)).toBeLessThan(0.005);
  });

  test('single requests are valid by the API schema, each a new session, with an Idempotency-Key', () => {
    const singles = requests.filter((r) => r.kind === 'single');
    const sessions = new Set<string>();
    for (const r of singles) {
      expect(CompleteSessionBody.safeParse(JSON.parse(r.body)).success).toBe(true);
      expect(SessionParams.safeParse({ sessionId: sessionOf(r) }).success).toBe(true);
      expect(r.headers['idempotency-key']).toBe(r.item.idempotencyKey);
      expect(r.item.sessionId).toBe(sessionOf(r));
      sessions.add(r.item.sessionId);
    }
    expect(sessions.size).toBe(singles.length);
  });

  test('a retry resends an earlier single request byte for byte', () => {
    const byIndex = new Map(requests.map((r) => [r.index, r]));
    const retries = requests.filter((r) => r.kind === 'retry');
    expect(retries.length).toBeGreaterThan(0);
    for (const r of retries) {
      const original = byIndex.get(r.of);
      expect(original?.kind).toBe('single');
      expect(original!.index).toBeLessThan(r.index);
      expect([r.path, r.body, r.headers]).toEqual([original!.path, original!.body, original!.headers]);
    }
  });

  test('invalid bodies are refused by the API schema', () => {
    for (const r of requests.filter((x) => x.kind === 'invalid')) {
      expect(CompleteSessionBody.safeParse(JSON.parse(r.body)).success).toBe(false);
    }
  });

  test('batch items: the planned valid ones pass the schema, the others do not', () => {
    for (const r of requests.filter((x) => x.kind === 'batch')) {
      const items = (JSON.parse(r.body) as { items: unknown[] }).items;
      expect(items).toHaveLength(r.items.length);
      items.forEach((item, i) => expect(BatchItem.safeParse(item).success).toBe(r.items[i] !== undefined));
    }
  });

  test('users are skewed: the busiest 1% of users have far more than 1% of the sessions', () => {
    const perUser = new Map<string, number>();
    for (const r of requests) if (r.kind === 'single') perUser.set(r.item.userId, (perUser.get(r.item.userId) ?? 0) + 1);
    const counts = [...perUser.values()].sort((a, b) => b - a);
    const total = counts.reduce((a, b) => a + b, 0);
    const top = counts.slice(0, 5).reduce((a, b) => a + b, 0);
    expect(top / total).toBeGreaterThan(0.2);
  });
});

describe('ohaBodyLines', () => {
  test('one valid body per user, completed before now', () => {
    const lines = ohaBodyLines(200, 3, NOW);
    expect(lines).toHaveLength(200);
    const users = new Set<string>();
    for (const line of lines) {
      const body = JSON.parse(line) as { userId: string; completedAt: string };
      expect(CompleteSessionBody.safeParse(body).success).toBe(true);
      expect(Date.parse(body.completedAt)).toBeLessThan(NOW);
      users.add(body.userId);
    }
    expect(users.size).toBe(200);
  });
});
