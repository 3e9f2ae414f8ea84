/**
 * Request schemas of the write path. Field schemas come from the event module, so what the edge
 * accepts and what the topic carries are defined once.
 */
import { z } from 'zod';
import { Attributes, IsoInstant, Outcome, SafeId, Score } from '../kernel/events/session-completed.ts';

export const MAX_BATCH_ITEMS = 500;

/** The fields a completion carries, shared by the single and the batch endpoint. */
const completionFields = {
  userId: SafeId,
  startedAt: IsoInstant,
  completedAt: IsoInstant,
  score: Score.optional(),
  outcome: Outcome.default('completed'),
  attributes: Attributes.optional(),
};

const endsAfterStart = (b: { startedAt: string; completedAt: string }): boolean =>
  Date.parse(b.completedAt) >= Date.parse(b.startedAt);
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

export const SessionParams = z.object({ sessionId: SafeId });

/** One item of POST /sessions/complete: the single body plus its sessionId and optional key. */
export const BatchItem = z
  .strictObject({ sessionId: SafeId, idempotencyKey: IdempotencyKey.optional(), ...completionFields })
  .refine(endsAfterStart, endsAfterStartIssue);
export type BatchItem = z.output<typeof BatchItem>;

/** The batch envelope; items are validated one by one so a bad item spoils only itself. */
export const BatchBody = z.strictObject({
  items: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS),
});

export const Accepted = z.object({
  eventId: z.uuid(),
  sessionId: SafeId,
  status: z.literal('accepted'),
});
export type Accepted = z.infer<typeof Accepted>;
