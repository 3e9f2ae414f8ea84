/** The first request of each Idempotency-Key wins, in the batch and against what was recorded before. */
import { expect, test } from 'bun:test';
import { allConflicts, conflictReason, firstRequestKeys } from '../../../consumers/postgres/idempotency.ts';
import type { SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { makeEvent } from '../../support/events.ts';

const ID = '0193aaaa-0000-5000-8000-000000000001';
const keyed = (requestHash: string, id = ID): SessionCompleted => ({ ...makeEvent({ id }), requestHash });
const h = (c: string) => c.repeat(64);

test('in a batch: the first hash of an id wins; same-hash copies and unkeyed events are no conflict', () => {
  const events = [keyed(h('a')), makeEvent(), keyed(h('a')), keyed(h('b')), keyed(h('c'), ID.toUpperCase())];
  const { keys, conflicts } = firstRequestKeys(events);
  expect(keys).toEqual([{ eventId: ID, requestHash: h('a') }]);
  expect(conflicts.map((c) => [c.index, c.requestHash, c.firstHash])).toEqual([
    [3, h('b'), h('a')],
    [4, h('c'), h('a')],
  ]);
});

test('against the table: every copy whose hash differs from the recorded first one, plus the in-batch ones', () => {
  const events = [keyed(h('b')), keyed(h('b')), keyed(h('a'))];
  const { conflicts: inBatch } = firstRequestKeys(events);
  const all = allConflicts(events, inBatch, new Map([[ID, h('a')]]));
  expect(all.map((c) => [c.index, c.firstHash])).toEqual([
    [0, h('a')],
    [1, h('a')],
  ]);
  expect(conflictReason(all[0]!)).toStartWith(`IDEMPOTENCY_CONFLICT: event ${ID} was first seen with request hash ${h('a')}`);
});
