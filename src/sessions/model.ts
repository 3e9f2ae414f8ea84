/**
 * Request and response schemas of the write path. Field schemas come from the event module, so
 * what the edge accepts and what the topic carries are defined once; the routes (index.ts)
 * declare these same schemas, from which /openapi.json is generated.
 */
import { z } from 'zod';
import { Outcome, SafeId, Score } from '../kernel/events/session-completed.ts';
import { IssueSchema } from '../http/problem.ts';
import { DocumentedAttributes, Instant } from '../http/schemas.ts';
import { instantMs } from './instants.ts';

export const MAX_BATCH_ITEMS = 500;

/**
 * A session id. `complete` is reserved: GET /sessions/complete is the batch route's path, so a
 * session of that name could be written but never read back.
 */
export const SessionId = SafeId.refine((id) => id !== 'complete', { message: '"complete" is reserved (it names the batch route)' }).meta({
  not: { const: 'complete' },
});

/** The fields a completion carries, shared by the single and the batch endpoint. */
const completionFields = {
  userId: SafeId,
  startedAt: Instant,
  completedAt: Instant.meta({
    description: `${Instant.description ?? ''}; not before startedAt, and at most MAX_CLOCK_SKEW_MS (default 5 minutes) ahead of the server's clock`,
  }),
  score: Score.optional(),
  outcome: Outcome.default('completed'),
  attributes: DocumentedAttributes.optional(),
};

/** completedAt parsed last: the future-skew check (service.ts) then finds it remembered. */
const endsAfterStart = (b: { startedAt: string; completedAt: string }): boolean => {
  const started = instantMs(b.startedAt);
  return instantMs(b.completedAt) >= started;
};
const endsAfterStartIssue = { path: ['completedAt'], message: 'must not be before startedAt' };

/** Body of POST /sessions/:sessionId/complete. Unknown fields are refused (typos surface as 422). */
export const CompleteSessionBody = z.strictObject(completionFields).refine(endsAfterStart, endsAfterStartIssue);
export type CompleteSessionBody = z.output<typeof CompleteSessionBody>;

/** Visible ASCII, no spaces: safe to echo in logs and headers. */
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7E]+$/, 'must be 1-255 visible ASCII characters');

export const SessionParams = z.object({ sessionId: SessionId });

/** The request headers the single write reads. */
export const CompletionHeaders = z.object({
  'Idempotency-Key': IdempotencyKey.meta({
    description: 'Retries with the same key (for the same session) yield the same eventId. A key names one request.',
  }).optional(),
});

/** One item of POST /sessions/complete: the single body plus its sessionId and optional key. */
export const BatchItem = z
  .strictObject({ sessionId: SessionId, idempotencyKey: IdempotencyKey.optional(), ...completionFields })
  .refine(endsAfterStart, endsAfterStartIssue);
export type BatchItem = z.output<typeof BatchItem>;

/** The batch envelope; items are validated one by one so a bad item spoils only itself. */
export const BatchBody = z.strictObject({
  items: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS),
});

/** The batch envelope as documented: the same bounds, with the item schema each item is checked against. */
export const DocumentedBatchBody = z.strictObject({
  items: z.array(BatchItem).min(1).max(MAX_BATCH_ITEMS),
});

export const Accepted = z.object({
  eventId: z.uuid(),
  sessionId: SafeId,
  status: z.literal('accepted'),
});

export const BatchResult = z.discriminatedUnion('status', [
  z.object({ index: z.int().min(0), status: z.literal('accepted'), eventId: z.uuid(), sessionId: SafeId }),
  z.object({
    index: z.int().min(0),
    status: z.literal('rejected'),
    issues: z.array(IssueSchema),
    /** Issues beyond the per-item and per-answer caps, counted but not listed. */
    issuesOmitted: z.int().min(1).optional(),
  }),
  z.object({ index: z.int().min(0), status: z.literal('failed'), code: z.string(), detail: z.string() }),
]);

export const BatchResponse = z.object({
  accepted: z.int().min(0),
  rejected: z.int().min(0),
  failed: z.int().min(0),
  results: z.array(BatchResult),
});
