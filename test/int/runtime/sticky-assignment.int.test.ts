/**
 * The classic group's partition assigner against a real broker: the group agrees on the sticky
 * assigner (consumers/runtime/sources/sticky-assigner.ts), and when a third member joins a group
 * of two, the two keep partitions they had and only two of six move.
 */
import { expect, test } from 'bun:test';
import { AssignerProtocol } from 'kafkajs';
import { createConsumer, type BatchSink, type SessionCompleted } from '../../../consumers/runtime/index.ts';
import { STICKY_ASSIGNER_NAME } from '../../../consumers/runtime/sources/sticky-assigner.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { createTestTopic, type TestTopic } from '../../support/kafka.ts';
import { waitFor } from '../../support/process.ts';
import { testConsumerOptions } from '../../support/consumers.ts';

const cleanups = registerCleanups();

const sink: BatchSink = { name: 'none', write: async (_events: readonly SessionCompleted[]) => {} };

function member(t: TestTopic) {
  const consumer = createConsumer(testConsumerOptions(t, sink, { groupProtocol: 'classic', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300, fetchMaxWaitMs: 100 }));
  cleanups.push(() => consumer.stop());
  return consumer;
}

/** The group as the broker sees it once it is stable with `size` members: protocol and member id -> partitions. */
async function stableGroup(t: TestTopic, size: number) {
  return waitFor(
    `the group to be stable with ${size} members`,
    async () => {
      const { groups } = await t.admin.describeGroups([t.groupId]);
      const g = groups[0];
      const assignment = new Map(
        (g?.members ?? []).map((m) => [m.memberId, AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[t.topic] ?? []] as const),
      );
      return { state: g?.state, protocol: g?.protocol, assignment };
    },
    (g) => g.state === 'Stable' && g.assignment.size === size && [...g.assignment.values()].flat().length === 6,
    30_000,
  );
}

test('a third member joining takes two partitions; the two members that stay keep what they had', async () => {
  const t = await createTestTopic('sticky', 6);
  cleanups.push(() => t.cleanup());
  await member(t).start();
  await member(t).start();
  const two = await stableGroup(t, 2);
  expect(two.protocol).toBe(STICKY_ASSIGNER_NAME);
  expect([...two.assignment.values()].map((ps) => ps.length)).toEqual([3, 3]);

  await member(t).start();
  const three = await stableGroup(t, 3);
  expect(three.protocol).toBe(STICKY_ASSIGNER_NAME);
  let kept = 0;
  for (const [id, before] of two.assignment) {
    const after = three.assignment.get(id);
    expect(after).toBeDefined();
    expect(after).toHaveLength(2);
    for (const p of after ?? []) expect(before).toContain(p);
    kept += after?.length ?? 0;
  }
  expect(kept).toBe(4); // 2 of 6 moved, to the new member
}, 90_000);
