/**
 * The published JSON Schema files: exactly what the generator makes from the zod wire schemas
 * (so CI catches a schema change without `npm run schemas`), valid for a standard validator, and
 * agreeing with our decoder on what a valid message is.
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEventValidator } from '../../../examples/subscriber.ts';
import { renderSchemaFiles, SCHEMA_DIR, schemaFileName } from '../../../src/kernel/events/json-schema.ts';
import { decodeSessionCompleted, SUPPORTED_EVENT_VERSIONS } from '../../../src/kernel/events/session-completed.ts';

const dir = resolve(import.meta.dir, '../../..', SCHEMA_DIR);

describe('schemas/*.json', () => {
  test('the committed files are exactly what `npm run schemas` generates (no drift)', () => {
    const wanted = renderSchemaFiles();
    expect([...wanted.keys()].sort()).toEqual(SUPPORTED_EVENT_VERSIONS.map(schemaFileName).sort());
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual([...wanted.keys()].sort());
    for (const [file, text] of wanted) {
      // A plain equality on the text: the failure shows the diff; the fix is `npm run schemas`.
      expect({ file, text: readFileSync(join(dir, file), 'utf8') }).toEqual({ file, text });
    }
  });

  test('each file describes its version and leaves objects open (unknown fields are allowed)', () => {
    for (const version of SUPPORTED_EVENT_VERSIONS) {
      const schema = JSON.parse(readFileSync(join(dir, schemaFileName(version)), 'utf8'));
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.properties.version.const).toBe(version);
      expect(schema.additionalProperties).toBeUndefined();
      expect(schema.properties.data.additionalProperties).toBeUndefined();
      expect(schema.required).toEqual(['id', 'type', 'version', 'occurredAt', 'receivedAt', 'data']);
    }
  });
});

describe('a validator built only from the files agrees with our decoder', () => {
  const validate = loadEventValidator(dir);
  const v1 = {
    id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    type: 'SessionCompleted',
    version: 1,
    occurredAt: '2026-11-28T10:05:00.000Z',
    receivedAt: '2026-11-28T10:05:00.217Z',
    data: {
      sessionId: 'sess-1',
      userId: 'user-1',
      startedAt: '2026-11-28T10:00:00.000Z',
      completedAt: '2026-11-28T10:05:00.000Z',
      score: -3.25,
      outcome: 'abandoned',
      attributes: { level: 3, mode: 'ranked', won: false },
    },
  };
  const v2 = { ...v1, version: 2, data: { ...v1.data, clientVersion: 'web/2026.11.3+abc123' } };
  const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  const withData = (base: typeof v1 | typeof v2, data: Record<string, unknown>) => ({ ...base, data: { ...base.data, ...data } });
  const without = <T extends object>(o: T, key: keyof T) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

  const cases: Array<[string, unknown, boolean]> = [
    ['v1, every field', v1, true],
    ['v2, every field', v2, true],
    ['v1, only the required fields', { ...v1, data: without(without(v1.data, 'score'), 'attributes') }, true],
    ['v2 without clientVersion', { ...v2, data: without(v2.data, 'clientVersion') }, true],
    ['instants with an offset', withData(v1, { startedAt: '2026-11-28T11:00:00+01:00' }), true],
    ['instants without milliseconds', withData(v2, { completedAt: '2026-11-28T10:05:00Z' }), true],
    ['an unknown top-level field', { ...v1, traceId: 'abc' }, true],
    ['an unknown data field', withData(v2, { device: 'tablet' }), true],
    ['32 attributes', withData(v1, { attributes: attrs(32) }), true],
    ['33 attributes', withData(v1, { attributes: attrs(33) }), false],
    ['an attribute key with a space', withData(v1, { attributes: { 'a b': 1 } }), false],
    ['a nested attribute value', withData(v1, { attributes: { a: { b: 1 } } }), false],
    ['an attribute string of 1025 chars', withData(v1, { attributes: { a: 'x'.repeat(1025) } }), false],
    ['no userId', { ...v1, data: without(v1.data, 'userId') }, false],
    ['a userId with a space', withData(v1, { userId: 'a b' }), false],
    ['a sessionId of 129 chars', withData(v2, { sessionId: 's'.repeat(129) }), false],
    ['an unknown outcome', withData(v1, { outcome: 'won' }), false],
    ['a score as a string', withData(v1, { score: '42' }), false],
    ['a null score', withData(v1, { score: null }), false],
    ['an instant without a zone', withData(v1, { startedAt: '2026-11-28T10:00:00' }), false],
    ['a date without a time', withData(v2, { completedAt: '2026-11-28' }), false],
    ['an id that is not a UUID', { ...v1, id: 'not-a-uuid' }, false],
    ['another event type', { ...v1, type: 'SessionStarted' }, false],
    ['a version as a string', { ...v1, version: '1' }, false],
    ['a version nobody knows', { ...v2, version: 3 }, false],
    ['no receivedAt', without(v1, 'receivedAt'), false],
    ['a bad clientVersion', withData(v2, { clientVersion: 'ios 5' }), false],
    ['an empty clientVersion', withData(v2, { clientVersion: '' }), false],
  ];

  for (const [name, value, valid] of cases) {
    test(`${valid ? 'accepts' : 'rejects'} ${name}`, () => {
      const text = JSON.stringify(value);
      const ours = decodeSessionCompleted(text);
      const theirs = validate(text);
      expect({ ours: ours.ok, theirs: theirs.ok }).toEqual({ ours: valid, theirs: valid });
    });
  }
});
