/**
 * docs/events.md is the human half of the contract: it must name every field of every published
 * schema, every header (the event's and the dead-letter topic's), and the settings that name
 * the topics and their retention.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DLQ_HEADERS } from '../../../consumers/runtime/dead-letter.ts';
import { CONFIG_KEYS } from '../../../src/kernel/config.ts';
import { schemaFileName, sessionCompletedJsonSchema } from '../../../src/kernel/events/json-schema.ts';
import { HEADERS, OUTCOMES, SUPPORTED_EVENT_VERSIONS } from '../../../src/kernel/events/session-completed.ts';
import type { DeadLetterKind } from '../../../consumers/runtime/results.ts';

/** Every kind, checked against the type both ways: tsc fails when a kind is added and not listed here. */
const DEAD_LETTER_KINDS = ['empty', 'not_json', 'not_object', 'unknown_type', 'unsupported_version', 'invalid', 'other', 'store_rejected', 'idempotency_conflict'] as const satisfies readonly DeadLetterKind[];
const everyKindListed: Exclude<DeadLetterKind, (typeof DEAD_LETTER_KINDS)[number]> extends never ? true : false = true;

const docs = readFileSync(resolve(import.meta.dir, '../../../docs/events.md'), 'utf8');
const mentions = (name: string) => docs.includes(`\`${name}\``);

/** `id`, `data`, `data.sessionId`, ...: every property path of a JSON Schema. */
function fieldPaths(schema: Record<string, unknown>, prefix = ''): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(properties).flatMap(([name, sub]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    return [path, ...fieldPaths(sub, path)];
  });
}

describe('docs/events.md', () => {
  for (const version of SUPPORTED_EVENT_VERSIONS) {
    test(`names every field of v${version}, with its path, and links its schema file`, () => {
      const paths = fieldPaths(sessionCompletedJsonSchema(version));
      expect(paths).toContain('data.userId');
      expect(paths.filter((p) => !mentions(p))).toEqual([]);
      expect(docs).toContain(`schemas/${schemaFileName(version)}`);
    });
  }

  test('names every header of the event and of the dead-letter topic', () => {
    const names = [...Object.values(HEADERS), ...Object.values(DLQ_HEADERS)];
    expect(names.filter((n) => !mentions(n))).toEqual([]);
  });

  test('names every outcome and every dead-letter reason kind', () => {
    expect(everyKindListed).toBe(true);
    expect([...OUTCOMES, ...DEAD_LETTER_KINDS].filter((n) => !mentions(n))).toEqual([]);
  });

  test('names the settings of the topic, its dead-letter topic and their retention', () => {
    const settings = ['KAFKA_TOPIC', 'KAFKA_DLQ_TOPIC', 'KAFKA_TOPIC_RETENTION_MS', 'KAFKA_TOPIC_PARTITIONS'];
    for (const s of settings) expect(CONFIG_KEYS).toContain(s);
    expect(settings.filter((s) => !mentions(s))).toEqual([]);
  });
});
