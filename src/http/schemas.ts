/**
 * Request-schema pieces the feature plugins share, with what the JSON Schema of their zod
 * original cannot say (a refinement does not show in z.toJSONSchema) written beside them as
 * metadata, so /openapi.json documents the bounds the server enforces. Validation is the
 * original's: `.meta()` changes the document only.
 */
import { Attributes, IsoInstant, MAX_ATTRIBUTES } from '../kernel/events/session-completed.ts';

/**
 * An instant the stores hold: ISO-8601 with a zone, 1970-01-01..2105-12-31 in UTC. The pattern
 * admits the years 1969 and 2106 too (an offset can bring their edges inside the range), so the
 * documented set holds every accepted value; the UTC bound is stated in the description.
 */
export const Instant = IsoInstant.meta({
  description: 'ISO-8601 date-time with a zone (Z or ±hh:mm), between 1970-01-01T00:00:00Z and 2105-12-31T23:59:59Z',
  pattern:
    '^(?:19[7-9][0-9]|20[0-9][0-9]|210[0-5]|1969|2106)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$',
});

/** The attribute map with its key-count bound (a refinement in the event module). */
export const DocumentedAttributes = Attributes.meta({ maxProperties: MAX_ATTRIBUTES });
