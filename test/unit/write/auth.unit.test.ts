import { describe, expect, test } from 'bun:test';
import { AppError } from '../../../src/kernel/errors.ts';
import { parseApiKeys, publicKeys, sha256Hex } from '../../../src/kernel/api-keys.ts';
import { createAuthenticator } from '../../../src/http/auth.ts';
import { createApp } from '../../../src/http/app.ts';
import { createApiMetrics } from '../../../src/http/metrics.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { createRegistry } from '../../../src/kernel/observability/metrics.ts';
import { createSessionRoutes } from '../../../src/sessions/index.ts';

const INGEST = 'ingest-secret-key';
const READER = 'reader-secret-key';
const keysText = `writer:ingest:${sha256Hex(INGEST)}:2,reader:read:${sha256Hex(READER)}`;

const errorOf = (f: () => unknown): AppError | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e as AppError;
  }
};
const codeOf = (f: () => unknown): string | undefined => errorOf(f)?.code;

describe('parseApiKeys', () => {
  test('parses names, scopes, hashes and rates; rate defaults', () => {
    const [w, r] = parseApiKeys(keysText);
    expect(w?.name).toBe('writer');
    expect([...(w?.scopes ?? [])]).toEqual(['ingest']);
    expect(w?.ratePerSecond).toBe(2);
    expect(r?.ratePerSecond).toBe(100_000);
    expect(parseApiKeys('')).toEqual([]);
  });
  test('refuses plain keys, unknown scopes and duplicate names, naming the entry', () => {
    expect(() => parseApiKeys('a:ingest:not-a-hash')).toThrow(/entry 1 \("a"\).*SHA-256/);
    expect(() => parseApiKeys(`a:write:${'0'.repeat(64)}`)).toThrow(/scopes must be/);
    expect(() => parseApiKeys(`a:read:${'0'.repeat(64)},a:read:${'1'.repeat(64)}`)).toThrow(/used twice/);
    expect(() => parseApiKeys(`a:read:${'0'.repeat(64)}:-1`)).toThrow(/positive/);
  });
  test('refuses a rate below 0.5/s, which could never admit a request (the bucket holds two seconds)', () => {
    expect(() => parseApiKeys(`a:read:${'0'.repeat(64)}:0.4`)).toThrow(/at least 0.5 per second.*got 0.4/);
    expect(parseApiKeys(`a:read:${'0'.repeat(64)}:0.5`)[0]?.ratePerSecond).toBe(0.5);
  });
  test('knows the demo key compose.yaml once shipped as public', () => {
    const keys = parseApiKeys(`demo:ingest+read:${sha256Hex('demo-key-change-me')},mine:read:${sha256Hex('a-secret')}`);
    expect(publicKeys(keys)).toEqual(['demo']);
  });
});

describe('authenticator', () => {
  test('401 without or with a wrong key, 403 with the wrong scope, ok with the right one', () => {
    const auth = createAuthenticator(parseApiKeys(keysText), () => 0);
    expect(codeOf(() => auth.check('ingest', null))).toBe('UNAUTHORIZED');
    expect(codeOf(() => auth.check('ingest', 'Basic abc'))).toBe('UNAUTHORIZED');
    expect(codeOf(() => auth.check('ingest', 'Bearer nope'))).toBe('UNAUTHORIZED');
    expect(codeOf(() => auth.check('ingest', `Bearer ${READER}`))).toBe('FORBIDDEN');
    expect(codeOf(() => auth.check('read', `Bearer ${INGEST}`))).toBe('FORBIDDEN');
    expect(auth.check('read', `Bearer ${READER}`).name).toBe('reader');
  });
  test('each key has a token bucket: past it 429 with the wait, refilled by time', () => {
    let now = 0;
    const auth = createAuthenticator(parseApiKeys(keysText), () => now);
    const call = () => codeOf(() => auth.check('ingest', `Bearer ${INGEST}`));
    // rate 2/s: the bucket holds 4
    expect([call(), call(), call(), call()]).toEqual([undefined, undefined, undefined, undefined]);
    const error = errorOf(() => auth.check('ingest', `Bearer ${INGEST}`));
    expect(error?.code).toBe('RATE_LIMITED');
    expect(error?.details?.['retryAfterSeconds']).toBe(1);
    now += 500; // one token back
    expect(call()).toBeUndefined();
    expect(call()).toBe('RATE_LIMITED');
  });
  test('a batch costs one token per event: it may take the bucket into debt, and the key waits the debt out', () => {
    let now = 0;
    const auth = createAuthenticator(parseApiKeys(keysText), () => now); // writer: 2/s, bucket 4
    const key = auth.check('ingest', `Bearer ${INGEST}`); // 3 left
    auth.chargeEvents(key, 10); // 9 more: -6
    const error = errorOf(() => auth.check('ingest', `Bearer ${INGEST}`));
    expect(error?.code).toBe('RATE_LIMITED');
    expect(error?.details?.['retryAfterSeconds']).toBe(4); // (1 - -6) / 2 = 3.5 s
    now += 3_000; // -6 + 6 = 0: still no whole token
    expect(codeOf(() => auth.check('ingest', `Bearer ${INGEST}`))).toBe('RATE_LIMITED');
    now += 500;
    expect(codeOf(() => auth.check('ingest', `Bearer ${INGEST}`))).toBeUndefined();
  });
  test('a second batch admitted while the first was being read is refused once the first put the bucket in debt', () => {
    const auth = createAuthenticator(parseApiKeys(keysText), () => 0);
    const a = auth.check('ingest', `Bearer ${INGEST}`);
    const b = auth.check('ingest', `Bearer ${INGEST}`); // both admitted: 2 tokens left
    auth.chargeEvents(a, 500);
    expect(codeOf(() => auth.chargeEvents(b, 500))).toBe('RATE_LIMITED');
    expect(codeOf(() => auth.chargeEvents(b, 1))).toBeUndefined(); // a batch of one paid on admission
  });
});

describe('auth at the HTTP edge', () => {
  const app = () => {
    const metrics = createApiMetrics(createRegistry());
    return createApp({
      logger: silentLogger(),
      metrics,
      retryAfterSeconds: 1,
      accessLogSampleRate: 0,
      authenticator: createAuthenticator(parseApiKeys(keysText)),
      draining: () => false,
      readiness: () => ({ ready: true }),
      plugins: [
        createSessionRoutes({
          publisher: { append: async () => {} },
          session: { now: Date.now, newEventId: () => Bun.randomUUIDv7(), maxClockSkewMs: 60_000 },
          bodyLimitBytes: 4096,
          batchBodyLimitBytes: 65536,
          retryAfterSeconds: 1,
          metrics,
        }),
      ],
    });
  };
  const at = new Date(Date.now() - 60_000).toISOString();
  const post = (auth?: string) =>
    new Request('http://localhost/sessions/s/complete', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify({ userId: 'u', startedAt: at, completedAt: at }),
    });

  test('401 problem+json with WWW-Authenticate; 403 for the wrong scope; 202 with the right key', async () => {
    const a = app();
    const none = await a.handle(post());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect((await a.handle(post(`Bearer ${READER}`))).status).toBe(403);
    expect((await a.handle(post(`Bearer ${INGEST}`))).status).toBe(202);
  });
  test('429 with Retry-After past the key rate; probes stay open without a key', async () => {
    const a = app();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await a.handle(post(`Bearer ${INGEST}`))).status);
    expect(statuses.slice(0, 4)).toEqual([202, 202, 202, 202]);
    const limited = await a.handle(post(`Bearer ${INGEST}`));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await a.handle(new Request('http://localhost/healthz'))).status).toBe(200);
    expect((await a.handle(new Request('http://localhost/metrics'))).status).toBe(200);
  });
});
