/**
 * The SessionCompleted event: its one schema, shared by the API (which builds and validates it)
 * and by every consumer (which decodes it). The wire format is JSON with ISO-8601 UTC strings for
 * instants; the version travels in the envelope and in a header.
 *
 * Field schemas are defined once here and reused by the HTTP request schema
 * (src/sessions/model.ts), so the edge and the topic can never disagree about what a valid
 * userId or timestamp is. The published JSON Schema files (schemas/*.json, docs/events.md) are
 * generated from the wire schemas below by scripts/generate-schemas.ts.
 *
 * Versions: readers understand v1 and v2 (`SUPPORTED_EVENT_VERSIONS`) and see both in one
 * current shape (`upcastSessionCompleted`); the API writes `EVENT_VERSION`. Readers learn a
 * version before the writer switches to it, so no subscriber ever meets one it cannot read.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const EVENT_TYPE = 'SessionCompleted' as const;
/** The version the API writes. Readers already understand up to LATEST_EVENT_VERSION. */
export const EVENT_VERSION = 1 as const;
/** Every version a reader of the topic must accept, oldest first. */
export const SUPPORTED_EVENT_VERSIONS = [1, 2] as const;
export type EventVersion = (typeof SUPPORTED_EVENT_VERSIONS)[number];
export const LATEST_EVENT_VERSION = 2 as const satisfies EventVersion;

/** Header names carried by every message on the topic. */
export const HEADERS = {
  type: 'event-type',
  version: 'event-version',
  id: 'event-id',
  contentType: 'content-type',
} as const;

/** Letters, digits and `. _ : -`: safe in URLs, logs, SQL literals and Kafka keys. */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
export const SafeId = z
  .string()
  .min(1)
  .max(128)
  .regex(SAFE_ID_PATTERN, 'only letters, digits and . _ : - are allowed');

/** The canonical form (what the API writes): already normalised, no Date round trip needed. */
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MIN_INSTANT = '1970-01-01T00:00:00.000Z';
const END_INSTANT = '2106-01-01T00:00:00.000Z';
/** An ISO-8601 instant with a zone (Z or ±hh:mm); normalised to UTC with milliseconds. */
export const IsoInstant = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z' })
  .transform((s) => (CANONICAL_INSTANT.test(s) ? s : new Date(s).toISOString()))
  // Only instants every store holds as sent: Postgres refuses year 0 (a consumer would retry that
  // batch forever), ClickHouse's DateTime silently wraps anything outside 1970..2105. The string
  // is canonical UTC here (a year outside 0000-9999 comes out as "-000001-..." or "+010000-...",
  // both below "1970"), so a string comparison decides it without another Date round trip.
  .refine((s) => s >= MIN_INSTANT && s < END_INSTANT, { message: 'must be between 1970-01-01 and 2105-12-31 (UTC)' });

export const OUTCOMES = ['completed', 'failed', 'abandoned'] as const;
export const Outcome = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof Outcome>;

export const MAX_ATTRIBUTES = 32;
export const AttributeKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'attribute keys may use letters, digits and . _ : -');
/** U+0000 or a surrogate without its pair: JSON can carry them, Postgres jsonb refuses them. */
const NOT_STORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export const AttributeValue = z.union([
  z.string().max(1024).refine((s) => !NOT_STORABLE_TEXT.test(s), { message: 'must not contain U+0000 or unpaired surrogates' }),
  z.number().finite(),
  z.boolean(),
]);
export const Attributes = z
  .record(AttributeKey, AttributeValue)
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, {
    message: `at most ${MAX_ATTRIBUTES} attributes are allowed`,
  });

/**
 * Finite, and at most 1e308 in magnitude: Postgres turns a float8 into numeric with 15 digits, and
 * the last few float8 values below Number.MAX_VALUE round up past it (the user_stats average of
 * such a score overflowed and the consumer would retry that batch forever).
 */
export const Score = z.number().finite().min(-1e308).max(1e308);

/** The client application's version, e.g. `ios/5.2.0` or `web/2026.11.3+abc123` (v2). */
export const CLIENT_VERSION_PATTERN = /^[A-Za-z0-9._:/+-]+$/;
export const ClientVersion = z
  .string()
  .min(1)
  .max(64)
  .regex(CLIENT_VERSION_PATTERN, 'only letters, digits and . _ : / + - are allowed');

/*
 * Field meanings live on the wire schemas (`describe`), so the published JSON Schema carries
 * them; docs/events.md says the same in prose (a unit test checks it names every field).
 */
const dataFieldsV1 = {
  sessionId: SafeId.describe('The session that completed (from the request path). One session may complete more than once; the latest (completedAt, id) wins.'),
  userId: SafeId.describe('Who played the session. Also the Kafka message key.'),
  startedAt: IsoInstant.describe('When the session started, as the client reported it. ISO-8601; the API writes UTC with milliseconds.'),
  completedAt: IsoInstant.describe('When the session completed, as the client reported it (never before startedAt). ISO-8601; the API writes UTC with milliseconds.'),
  score: Score.describe('The score the client reported, a finite number in the client\'s own scale. Absent when the client sent none.').optional(),
  outcome: Outcome.describe('How the session ended.'),
  attributes: Attributes.meta({
    maxProperties: MAX_ATTRIBUTES,
    description: `Free-form flat map the client sent (at most ${MAX_ATTRIBUTES} keys; values string, number or boolean). Absent when the client sent none.`,
  }).optional(),
};

/**
 * What a session completion says, without the envelope. Decoding is lenient about unknown
 * fields (they are stripped), so adding an optional field is a compatible change for readers.
 */
export const SessionCompletedDataV1 = z.object(dataFieldsV1);

/** v2 = v1 plus the optional clientVersion. */
export const SessionCompletedDataV2 = z.object({
  ...dataFieldsV1,
  clientVersion: ClientVersion.describe('The client application\'s version, e.g. ios/5.2.0 (v2 only). Absent when the client did not say.').optional(),
});

/** What a consumer reads, whatever version was on the wire: the latest data shape. */
export type SessionCompletedData = z.output<typeof SessionCompletedDataV2>;

/** SHA-256, lower-case hex. */
export const RequestHash = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in lower-case hex');

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * What a request asked for, as one hash: SHA-256 of the validated `data` (instants normalised to
 * UTC, defaults applied) as canonical JSON. Two requests with one Idempotency-Key and one session
 * share an event id; their hashes say whether they asked for the same thing.
 */
export const requestHashOf = (data: SessionCompletedData): string => createHash('sha256').update(canonicalJson(data)).digest('hex');

/** The envelope around a version's data; field order as the API writes it. */
const envelope = <V extends EventVersion, D extends z.ZodType>(version: V, data: D) =>
  z.object({
    id: z.uuid().describe('The event id: UUIDv7, or UUIDv5 of the Idempotency-Key (so client retries repeat it). Deduplicate by it.'),
    type: z.literal(EVENT_TYPE).describe('Always SessionCompleted (also in the event-type header).'),
    version: z.literal(version).describe(`The schema version of this message: ${version} (also in the event-version header).`),
    /** When the session completed (= data.completedAt). */
    occurredAt: IsoInstant.describe('When the session completed: equal to data.completedAt (client clock).'),
    /** When the API accepted the request (the API's clock). */
    receivedAt: IsoInstant.describe("When the API accepted the request (the API's clock), UTC with milliseconds."),
    /** What the request asked for (requestHashOf), when the id comes from an Idempotency-Key. */
    requestHash: RequestHash.describe(
      'Only when the id is derived from an Idempotency-Key: SHA-256 (lower-case hex) of `data` as canonical JSON (keys sorted, no spaces). ' +
        'Two messages with one id and different requestHash mean the client reused its key for a different request: keep the first.',
    ).optional(),
    data,
  });

export const SessionCompletedV1 = envelope(1, SessionCompletedDataV1);
export const SessionCompletedV2 = envelope(2, SessionCompletedDataV2);

/** The wire schema of each version: what `decodeSessionCompleted` validates and the JSON Schema files describe. */
export const WIRE_SCHEMAS = { 1: SessionCompletedV1, 2: SessionCompletedV2 } as const satisfies Record<EventVersion, z.ZodType>;

/** One message as it was written, in its own version's shape. */
export type SessionCompletedOnWire =
  | Readonly<z.output<typeof SessionCompletedV1>>
  | Readonly<z.output<typeof SessionCompletedV2>>;

/**
 * The event as every consumer sees it, whatever version was on the wire: the latest data shape,
 * and `version` saying which version the message was written in (the API builds this too).
 */
export type SessionCompleted = Readonly<Omit<z.output<typeof SessionCompletedV2>, 'version'> & { version: EventVersion }>;

/**
 * The one upcaster: a message of any supported version -> the current shape. Every consumer gets
 * it through `decodeSessionCompleted`. A new version adds a case here, and old versions are
 * mapped forward here, never in a projection.
 */
export function upcastSessionCompleted(event: SessionCompletedOnWire): SessionCompleted {
  switch (event.version) {
    case 1:
      // v1 carries every field of the current shape except clientVersion, which it cannot know:
      // absent, exactly as in a v2 event whose client did not say.
      return event;
    case 2:
      return event;
    default: {
      const unknown: never = event;
      throw new Error(`no upcast for ${JSON.stringify(unknown)}`);
    }
  }
}

/** A message ready for the producer port: bytes plus the routing key and headers. */
export interface EventMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Kafka key = userId, so one user's events stay in order on one partition. */
export function encodeSessionCompleted(event: SessionCompleted): EventMessage {
  return {
    key: event.data.userId,
    value: JSON.stringify(event),
    headers: {
      [HEADERS.type]: event.type,
      [HEADERS.version]: String(event.version),
      [HEADERS.id]: event.id,
      [HEADERS.contentType]: 'application/json',
    },
  };
}

export type DecodeResult =
  | { readonly ok: true; readonly event: SessionCompleted }
  | { readonly ok: false; readonly reason: string };

/**
 * Decodes a message value from the topic. Never throws: a value that is not JSON, not a
 * SessionCompleted, or of an unknown version comes back as `{ ok: false, reason }` so the run
 * loop can dead-letter it and go on. Old versions are upcast here, in one place.
 */
export function decodeSessionCompleted(value: Uint8Array | string | null | undefined): DecodeResult {
  if (value === null || value === undefined) return { ok: false, reason: 'empty message value' };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof value === 'string' ? value : new TextDecoder().decode(value));
  } catch (error) {
    return { ok: false, reason: `value is not JSON: ${(error as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'value is not a JSON object' };
  const { type, version } = raw as { type?: unknown; version?: unknown };
  if (type !== EVENT_TYPE) return { ok: false, reason: `unknown event type ${JSON.stringify(type)}` };
  switch (version) {
    case 1: {
      const parsed = SessionCompletedV1.safeParse(raw);
      if (parsed.success) return { ok: true, event: upcastSessionCompleted(parsed.data) };
      return { ok: false, reason: `invalid SessionCompleted v1: ${formatIssues(parsed.error)}` };
    }
    case 2: {
      const parsed = SessionCompletedV2.safeParse(raw);
      if (parsed.success) return { ok: true, event: upcastSessionCompleted(parsed.data) };
      return { ok: false, reason: `invalid SessionCompleted v2: ${formatIssues(parsed.error)}` };
    }
    default:
      return { ok: false, reason: `unsupported SessionCompleted version ${JSON.stringify(version)}` };
  }
}

/** `path: message; path: message` for logs and dead-letter headers. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Session duration in milliseconds (completedAt - startedAt). */
export const durationMs = (data: Pick<SessionCompletedData, 'startedAt' | 'completedAt'>): number =>
  Date.parse(data.completedAt) - Date.parse(data.startedAt);
