/**
 * The SessionCompleted event: its one schema, shared by the API (which builds and validates it)
 * and by every consumer (which decodes it). The wire format is JSON with ISO-8601 UTC strings for
 * instants; the version travels in the envelope and in a header.
 *
 * Field schemas are defined once here and reused by the HTTP request schema
 * (src/sessions/model.ts), so the edge and the topic can never disagree about what a valid
 * userId or timestamp is.
 */
import { z } from 'zod';

export const EVENT_TYPE = 'SessionCompleted' as const;
export const EVENT_VERSION = 1 as const;

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

/** An ISO-8601 instant with a zone (Z or ±hh:mm); normalised to UTC with milliseconds. */
export const IsoInstant = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z' })
  .transform((s) => new Date(s).toISOString());

export const OUTCOMES = ['completed', 'failed', 'abandoned'] as const;
export const Outcome = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof Outcome>;

export const MAX_ATTRIBUTES = 32;
export const AttributeKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'attribute keys may use letters, digits and . _ : -');
export const AttributeValue = z.union([z.string().max(1024), z.number().finite(), z.boolean()]);
export const Attributes = z
  .record(AttributeKey, AttributeValue)
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, {
    message: `at most ${MAX_ATTRIBUTES} attributes are allowed`,
  });

export const Score = z.number().finite();

/**
 * What a session completion says, without the envelope. Decoding is lenient about unknown
 * fields (they are stripped), so adding an optional field is a compatible change for readers.
 */
export const SessionCompletedDataV1 = z
  .object({
    sessionId: SafeId,
    userId: SafeId,
    startedAt: IsoInstant,
    completedAt: IsoInstant,
    score: Score.optional(),
    outcome: Outcome,
    attributes: Attributes.optional(),
  });
export type SessionCompletedData = z.output<typeof SessionCompletedDataV1>;

export const SessionCompletedV1 = z
  .object({
    id: z.uuid(),
    type: z.literal(EVENT_TYPE),
    version: z.literal(EVENT_VERSION),
    /** When the session completed (= data.completedAt). */
    occurredAt: IsoInstant,
    /** When the API accepted the request (the API's clock). */
    receivedAt: IsoInstant,
    data: SessionCompletedDataV1,
  });

/** The event as every consumer sees it, whatever version was on the wire. */
export type SessionCompleted = Readonly<z.output<typeof SessionCompletedV1>>;

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
      if (parsed.success) return { ok: true, event: parsed.data };
      return { ok: false, reason: `invalid SessionCompleted v1: ${formatIssues(parsed.error)}` };
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
