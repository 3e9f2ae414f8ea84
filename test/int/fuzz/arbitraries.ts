/**
 * fast-check generators of hostile HTTP input for the API: bodies, headers, path segments, query
 * strings and methods. Each yields raw request bytes, so nothing is normalised on the way.
 */
import fc from 'fast-check';
import { requestHead, withBody } from './support.ts';

/** A body the write path accepts, to mutate from. */
export function validCompletion(): Record<string, unknown> {
  const completed = Date.now() - 60_000;
  return {
    userId: 'fuzz-user',
    startedAt: new Date(completed - 90_000).toISOString(),
    completedAt: new Date(completed).toISOString(),
    score: 42,
    outcome: 'completed',
  };
}

const FIELDS = ['userId', 'startedAt', 'completedAt', 'score', 'outcome', 'attributes', 'extra', '__proto__', 'constructor'] as const;

/** Strings that hurt: lone surrogates (binary unit), control characters, big ones, RTL marks. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.constantFrom('\u0000', '\ud800', '\udc00x', 'a\u202eb', '\ufeff', '\uffff', '../../etc/passwd', "'; DROP TABLE sessions; --", '%s%n', '${x}', ''),
  fc.integer({ min: 100, max: 40_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('0000-01-01T00:00:00Z', '0000-01-01T00:30:00+01:00', '9999-12-31T23:59:59.999-01:00', '1969-12-31T23:59:59Z', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00'),
);

/** Numbers JSON can carry but an int64, a float8 or a DateTime cannot always take. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.constantFrom(-0, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER + 2, 2 ** 63, -(2 ** 63), 1e21),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.oneof(hostileString, fc.string()), fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 40 }),
);

/** Number literals JSON.parse reads as Infinity, -0, or with lost precision; and non-JSON ones. */
const NUMBER_LITERALS = ['1e309', '-1e309', '1e-400', '-0', '123456789012345678901234567890', '0x10', 'NaN', 'Infinity', '01', '1.', '.5', '+1', '1e', '9'.repeat(400)];

export type BodyCase = { readonly kind: string; readonly bytes: Uint8Array | string; readonly contentType?: string };

export const bodyCase: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }).map((v) => ({ kind: 'any-json', bytes: JSON.stringify(v) ?? 'null' })),
  fc.tuple(fc.constantFrom(...FIELDS), hostileValue).map(([field, value]) => {
    const body = validCompletion();
    body[field] = value;
    return { kind: `field:${field}`, bytes: JSON.stringify(body) };
  }),
  fc.dictionary(fc.constantFrom('a', 'b', 'k.1', 'x:y', '\u0000', ''), fc.oneof(hostileString, hostileNumber, fc.boolean()), { maxKeys: 40 }).map((attributes) => ({
    kind: 'attributes',
    bytes: JSON.stringify({ ...validCompletion(), attributes }),
  })),
  fc.constantFrom(...NUMBER_LITERALS).map((lit) => ({ kind: 'number-literal', bytes: JSON.stringify(validCompletion()).replace('"score":42', `"score":${lit}`) })),
  fc.tuple(fc.constantFrom('userId', 'score', 'outcome', 'startedAt'), hostileValue).map(([key, value]) => {
    // Duplicate keys in raw JSON text: the last one wins in JSON.parse.
    const text = JSON.stringify(validCompletion());
    return { kind: 'duplicate-key', bytes: `${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}` };
  }),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.boolean()).map(([depth, open, inAttributes]) => {
    const close = open === '[' ? ']' : '}';
    const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
    const bytes = inAttributes ? JSON.stringify({ ...validCompletion(), attributes: { deep: '#' } }).replace('"#"', nested) : nested;
    return { kind: 'deep-nesting', bytes };
  }),
  fc.tuple(fc.integer({ min: 0, max: 200 })).map(([cut]) => {
    const text = JSON.stringify(validCompletion());
    return { kind: 'truncated-json', bytes: text.slice(0, Math.min(cut, text.length - 1)) };
  }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'random-bytes', bytes })),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((junk) => {
    // A valid body with bytes that are not UTF-8 inside a string.
    const [a, b] = JSON.stringify({ ...validCompletion(), attributes: { s: '#' } }).split('#') as [string, string];
    return { kind: 'invalid-utf8', bytes: Buffer.concat([Buffer.from(a), Buffer.from(junk.map((x) => x | 0x80)), Buffer.from(b)]) };
  }),
  fc.integer({ min: 16_000, max: 200_000 }).map((n) => ({ kind: 'huge-body', bytes: JSON.stringify({ ...validCompletion(), attributes: { big: 'x'.repeat(n) } }) })),
);

const CONTENT_TYPES = [
  'application/json',
  'APPLICATION/JSON',
  'application/json; charset=utf-8',
  'application/json;charset=utf-16',
  'application/problem+json',
  'application/vnd.fuzz+json',
  'application/jsonx',
  ' application/json',
  'application/json\t',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=zzz',
  'application/octet-stream',
  '*/*',
  '',
];

/** Present about one time in five: most requests should get past Bun's own header checks. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** Header values with any latin1 byte except CR, LF and NUL (those end the head early). */
const headerValue = (max: number) =>
  fc.oneof(
    fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: max }),
    fc.string({ unit: 'binary-ascii', maxLength: max }).map((s) => s.replace(/[\r\n\0]/g, '')),
  );

export type HeaderCase = { readonly kind: string; readonly bytes: Uint8Array };

export const headerCase = (path: string): fc.Arbitrary<HeaderCase> =>
  fc
    .record({
      contentType: fc.option(fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerValue(80)), { nil: undefined }),
      idempotencyKey: fc.option(fc.oneof(headerValue(300), fc.integer({ min: 256, max: 9_000 }).map((n) => 'k'.repeat(n))), { nil: undefined }),
      requestId: fc.option(fc.oneof(headerValue(200), fc.integer({ min: 129, max: 9_000 }).map((n) => 'r'.repeat(n))), { nil: undefined }),
      huge: rarely(fc.integer({ min: 1_000, max: 80_000 })),
      contentLength: rarely(fc.constantFrom('-1', 'abc', '1e3', '99999999999999999999', '0', ' 5', '5, 6')),
      repeatContentType: fc.boolean(),
      many: rarely(fc.integer({ min: 50, max: 400 })),
    })
    .map((h) => {
      const body = JSON.stringify(validCompletion());
      const headers: Array<[string, string]> = [];
      if (h.contentType !== undefined) headers.push(['Content-Type', h.contentType]);
      if (h.repeatContentType) headers.push(['Content-Type', 'text/plain']);
      if (h.idempotencyKey !== undefined) headers.push(['Idempotency-Key', h.idempotencyKey]);
      if (h.requestId !== undefined) headers.push(['X-Request-Id', h.requestId]);
      if (h.huge !== undefined) headers.push(['X-Fuzz-Huge', 'h'.repeat(h.huge)]);
      if (h.many !== undefined) for (let i = 0; i < h.many; i++) headers.push([`X-Fuzz-${i}`, String(i)]);
      headers.push(['Content-Length', h.contentLength ?? String(Buffer.byteLength(body))]);
      const kind = Object.entries(h)
        .filter(([, v]) => v !== undefined && v !== false)
        .map(([k]) => k)
        .join('+');
      return { kind: kind || 'plain', bytes: withBody(requestHead('POST', path, headers), body) };
    });

/** Path segments as raw bytes of the request target: percent-encoded junk, dots, slashes. */
export const pathSegment: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom('%00', '%2F', '%2f', '%2e%2e', '..', '.', '%C0%AF', '%FF', '%E2%80%AE', '%ED%A0%80', '%', '%%', '%zz', ';', '//', '~', '@', '%20', '+', '%0D%0A', 'é'),
      fc.string({ unit: fc.constantFrom(...'abcXYZ019._:-'.split('')), maxLength: 20 }),
      fc.integer({ min: 129, max: 9_000 }).map((n) => 'p'.repeat(n)),
      fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    ),
    { minLength: 0, maxLength: 6 },
  )
  .map((parts) => parts.join(''));

const QUERY_KEYS = ['limit', 'before', 'from', 'to', 'step', 'outcome', 'x', '', '__proto__', 'limit[]', 'from[a]'];

export const queryString: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), pathSegment),
      fc.oneof(
        pathSegment,
        fc.constantFrom('1', '0', '-1', '100', '101', '1e3', '99999999999999999999', 'NaN', '1m', '1s', '1h', '5m', 'completed', 'failed'),
        fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => encodeURIComponent(d.toISOString())),
        fc.constantFrom('2026-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '2026-01-01', 'now', encodeURIComponent('2026-01-01T00:00:00+14:00')),
        fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'q'.repeat(n)),
      ),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'get', 'CONNECT'] as const;
