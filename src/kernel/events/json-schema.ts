/**
 * The published JSON Schema of each SessionCompleted version, generated from the zod wire
 * schemas, so the files in schemas/ can never say something the decoder does not do.
 * scripts/generate-schemas.ts writes them; a unit test regenerates them in memory and fails when
 * the committed files differ.
 *
 * io: 'input' on purpose. A file describes the bytes ON THE WIRE, what a subscriber receives and
 * what our decoder takes as input, not the value the decoder hands out after its transforms
 * (those normalise instants to UTC and cannot be expressed in JSON Schema anyway: zod refuses
 * 'output' for them). Input mode also leaves objects open (no `additionalProperties: false`),
 * which is what makes "adding an optional field" a compatible change for a subscriber whose
 * validator follows the file: it ignores a field it does not know, as our decoder does.
 */
import { z } from 'zod';
import { EVENT_TYPE, type EventVersion, SUPPORTED_EVENT_VERSIONS, WIRE_SCHEMAS } from './session-completed.ts';

/** Where the files live, relative to the repository root. */
export const SCHEMA_DIR = 'schemas';

export const schemaFileName = (version: EventVersion): string => `session-completed.v${version}.json`;
export const schemaId = (version: EventVersion): string => `urn:session-pipeline:schema:session-completed:v${version}`;

/** The JSON Schema (draft 2020-12) of one version, with an id, a title and a pointer to the docs. */
export function sessionCompletedJsonSchema(version: EventVersion): Record<string, unknown> {
  const generated = z.toJSONSchema(WIRE_SCHEMAS[version], { io: 'input', target: 'draft-2020-12' });
  const { $schema, ...body } = generated as Record<string, unknown>;
  return {
    $schema,
    $id: schemaId(version),
    title: `${EVENT_TYPE} v${version}`,
    description:
      `The value of a message with header event-version=${version} on the SessionCompleted topic (JSON, UTF-8). ` +
      'Generated from src/kernel/events/session-completed.ts by scripts/generate-schemas.ts; do not edit. ' +
      'Topic, key, headers, ordering, delivery and versioning rules: docs/events.md.',
    ...body,
  };
}

/** File name -> exact file text (2-space JSON, trailing newline) for every supported version. */
export function renderSchemaFiles(): Map<string, string> {
  return new Map(
    SUPPORTED_EVENT_VERSIONS.map((v) => [schemaFileName(v), `${JSON.stringify(sessionCompletedJsonSchema(v), null, 2)}\n`]),
  );
}
