/**
 * Step 1 of every consumer: bytes from the topic -> an event or a dead letter. Never throws; the
 * reason text comes from the event module's decoder, and is classified into a small, bounded
 * set of kinds so it can label a metric.
 */
import { decodeSessionCompleted, type SessionCompleted } from '../../src/kernel/events/session-completed.ts';
import { dlq, ok, type DeadLetter, type DeadLetterKind, type Ok } from './results.ts';

export type DecodeStep = Ok<SessionCompleted> | DeadLetter;

const KIND_BY_PREFIX: ReadonlyArray<readonly [string, DeadLetterKind]> = [
  ['empty message value', 'empty'],
  ['value is not JSON', 'not_json'],
  ['value is not a JSON object', 'not_object'],
  ['unknown event type', 'unknown_type'],
  ['unsupported SessionCompleted version', 'unsupported_version'],
  ['invalid SessionCompleted', 'invalid'],
];

export function classifyDecodeFailure(reason: string): DeadLetterKind {
  for (const [prefix, kind] of KIND_BY_PREFIX) if (reason.startsWith(prefix)) return kind;
  return 'other';
}

export function decodeMessage(value: Uint8Array | string | null | undefined): DecodeStep {
  const decoded = decodeSessionCompleted(value);
  if (decoded.ok) return ok(decoded.event);
  return dlq(decoded.reason, classifyDecodeFailure(decoded.reason));
}
