/**
 * The rehearsal a consumer runs before it joins its group.
 *
 * In an eager rebalance every partition handed to a new member waits for that member's first
 * batch. In the drill (issue 13), that first batch was the slowest of the member's life. Its
 * "first commit since joining" lines at 1,000 req/s showed, for the new members:
 * - Postgres: a first write of 0.49-0.88 s, against 0.04-0.24 s for the member that stayed;
 * - ClickHouse: 0.14-0.21 s, against 0.02-0.03 s.
 * The code had never run: decoding and validating the messages, the projection, the COPY
 * encoder, the driver's protocol paths, and the new database session's catalog caches. That cost
 * landed on the partitions it had just taken over.
 *
 * So a consumer decodes a batch of made-up messages and has its sink rehearse the write before
 * it joins. The sink keeps nothing (the Postgres sink rolls its transaction back). The made-up
 * events are built here and go through the same decoder as a message from the topic, both
 * versions, with and without an Idempotency-Key's request hash. They cannot collide with real
 * ones: random ids, and users and sessions under the `rehearsal.` prefix.
 */
import { randomUUID } from 'node:crypto';
import { EVENT_TYPE, requestHashOf, type SessionCompleted } from '../../src/kernel/events/session-completed.ts';
import { decodeMessage } from './decode.ts';

/** Enough for the hot functions to leave the interpreter (JavaScriptCore tiers up after ~100s of calls). */
export const REHEARSAL_EVENTS = 500;

const OUTCOMES = ['completed', 'failed', 'abandoned'] as const;

/** The value bytes of `count` made-up SessionCompleted messages, as the API would have written them. */
export function rehearsalMessages(count: number, now: number): Buffer[] {
  const run = randomUUID().slice(0, 8);
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const completedAt = new Date(now - (i % 60) * 1_000).toISOString();
    const startedAt = new Date(now - (i % 60) * 1_000 - 60_000 - i).toISOString();
    const data = {
      sessionId: `rehearsal.${run}.${i}`,
      userId: `rehearsal.${run}.${i % 50}`,
      startedAt,
      completedAt,
      ...(i % 4 === 3 ? {} : { score: (i * 37) % 1_000 }),
      outcome: OUTCOMES[i % OUTCOMES.length]!,
      ...(i % 2 === 0 ? { attributes: { level: i % 10, mode: 'rehearsal', ranked: i % 3 === 0 } } : {}),
      ...(i % 2 === 1 ? { clientVersion: 'rehearsal/1.0.0' } : {}),
    };
    const version = i % 2 === 1 ? 2 : 1;
    const event = {
      id: randomUUID(),
      type: EVENT_TYPE,
      version,
      occurredAt: completedAt,
      receivedAt: new Date(now).toISOString(),
      ...(i % 3 === 0 ? { requestHash: requestHashOf(data) } : {}),
      data, // v1 events (even i) carry no clientVersion, as v1 cannot
    };
    messages.push(Buffer.from(JSON.stringify(event)));
  }
  return messages;
}

/**
 * Decodes the made-up messages as the run loop decodes a fetch. Throws if one does not decode:
 * that would mean this module and the event schema disagree, which a unit test catches first.
 */
export function rehearsalEvents(count: number, now: number): SessionCompleted[] {
  return rehearsalMessages(count, now).map((value) => {
    const step = decodeMessage(value);
    if (step.kind !== 'ok') throw new Error(`a rehearsal message did not decode: ${step.reason}`);
    return step.value;
  });
}
