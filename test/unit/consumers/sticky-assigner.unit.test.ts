import { describe, expect, test } from 'bun:test';
import { AssignerProtocol } from 'kafkajs';
import { decodeLeaving, decodeOwned, encodeOwned, STICKY_ASSIGNER_NAME, stickyAssign, stickyAssigner } from '../../../consumers/runtime/sources/sticky-assigner.ts';

const six = [0, 1, 2, 3, 4, 5];
const asObject = (m: Map<string, number[]>) => Object.fromEntries(m);
/** Partitions that changed owner between two assignments. */
const moved = (before: Map<string, number[]>, after: Map<string, number[]>) => {
  const owner = new Map<number, string>();
  for (const [id, ps] of before) for (const p of ps) owner.set(p, id);
  let n = 0;
  for (const [id, ps] of after) for (const p of ps) if (owner.get(p) !== id) n++;
  return n;
};
const claims = (m: Map<string, number[]>, ...newcomers: string[]) => [...[...m].map(([id, owned]) => ({ id, owned })), ...newcomers.map((id) => ({ id, owned: [] }))];

describe('stickyAssign', () => {
  test('a lone member takes every partition', () => {
    expect(asObject(stickyAssign(six, [{ id: 'a', owned: [] }]))).toEqual({ a: six });
  });

  test('growing 1 -> 2 -> 3 moves 3 then 2 partitions, and every member keeps what it had up to its share', () => {
    const one = stickyAssign(six, [{ id: 'm', owned: [] }]);
    // 'a' sorts before 'm': a round-robin dealer would hand 'a' the even partitions
    const two = stickyAssign(six, claims(one, 'a'));
    expect(two.get('m')).toHaveLength(3);
    expect(two.get('a')).toHaveLength(3);
    expect(moved(one, two)).toBe(3);
    const three = stickyAssign(six, claims(two, 'b'));
    expect([...three.values()].map((ps) => ps.length)).toEqual([2, 2, 2]);
    expect(moved(two, three)).toBe(2);
    // what a and m keep is what they had
    for (const id of ['a', 'm']) for (const p of three.get(id)!) expect(two.get(id)).toContain(p);
  });

  test('two members joining at once: 4 of 6 move, the old member keeps 2 of its own', () => {
    const one = stickyAssign(six, [{ id: 'z', owned: [] }]);
    const three = stickyAssign(six, claims(one, 'a', 'b'));
    expect(moved(one, three)).toBe(4);
    expect(three.get('z')).toEqual([0, 1]);
  });

  test('shrinking 3 -> 1: the member that stays keeps its own and takes the rest', () => {
    const three = new Map([['a', [0, 3]], ['b', [1, 4]], ['c', [2, 5]]]);
    expect(asObject(stickyAssign(six, [{ id: 'b', owned: three.get('b')! }]))).toEqual({ b: six });
  });

  test('a leaving member (stopping while the group rebalances) gets nothing; what it owned is dealt to the others', () => {
    // 3 -> 1, stopped one at a time: c left, b is draining when a and b rejoin.
    const out = stickyAssign(six, [
      { id: 'a', owned: [0, 1, 2] },
      { id: 'b', owned: [3, 4, 5], leaving: true },
    ]);
    expect(asObject(out)).toEqual({ a: six, b: [] });
    // Two staying, one leaving: balanced over the two, each keeping its own.
    const two = stickyAssign(six, [
      { id: 'a', owned: [0, 3] },
      { id: 'b', owned: [1, 4], leaving: true },
      { id: 'c', owned: [2, 5] },
    ]);
    expect(two.get('b')).toEqual([]);
    expect(two.get('a')!.length).toBe(3);
    expect(two.get('c')!.length).toBe(3);
    expect(two.get('a')).toEqual(expect.arrayContaining([0, 3]));
    expect(two.get('c')).toEqual(expect.arrayContaining([2, 5]));
    expect([...two.get('a')!, ...two.get('c')!].sort()).toEqual(six);
  });

  test('when every member is leaving, the partitions are still assigned (someone must own them)', () => {
    const out = stickyAssign(six, [
      { id: 'a', owned: [0, 1, 2], leaving: true },
      { id: 'b', owned: [3, 4, 5], leaving: true },
    ]);
    expect(asObject(out)).toEqual({ a: [0, 1, 2], b: [3, 4, 5] });
  });

  test('balanced whatever the claims: sizes differ by at most one, every partition once', () => {
    const r = stickyAssign([0, 1, 2, 3, 4, 5, 6], [{ id: 'a', owned: [0, 1, 2, 3, 4, 5, 6] }, { id: 'b', owned: [] }, { id: 'c', owned: [] }]);
    const sizes = [...r.values()].map((ps) => ps.length).sort();
    expect(sizes).toEqual([2, 2, 3]);
    expect([...r.values()].flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // the member that owned everything keeps the one extra share
    expect(r.get('a')).toEqual([0, 1, 2]);
  });

  test('a partition claimed twice (a stale claim) goes to neither claim; unknown partitions are ignored', () => {
    const r = stickyAssign([0, 1, 2, 3], [{ id: 'a', owned: [0, 1, 9] }, { id: 'b', owned: [1, 2] }]);
    expect(r.get('a')).toContain(0);
    expect(r.get('b')).toContain(2);
    expect([...r.values()].flat().sort()).toEqual([0, 1, 2, 3]);
    expect([...r.values()].every((ps) => ps.length === 2)).toBe(true);
  });

  test('more members than partitions: some get none', () => {
    const r = stickyAssign([0, 1], [{ id: 'a', owned: [] }, { id: 'b', owned: [1] }, { id: 'c', owned: [] }]);
    expect(r.get('b')).toEqual([1]);
    expect([...r.values()].flat().sort()).toEqual([0, 1]);
    expect([...r.values()].filter((ps) => ps.length === 0)).toHaveLength(1);
  });

  test('the same input gives the same answer, in any member order', () => {
    const members = [{ id: 'b', owned: [2] }, { id: 'a', owned: [5] }, { id: 'c', owned: [] }];
    expect(asObject(stickyAssign(six, members))).toEqual(asObject(stickyAssign(six, [...members].reverse())));
  });
});

describe('the claim a member joins with', () => {
  test('round-trips per topic, and anything unreadable claims nothing', () => {
    expect(decodeOwned(encodeOwned({ t: [3, 1] }), 't')).toEqual([3, 1]);
    expect(decodeOwned(encodeOwned({ t: [3, 1] }), 'other')).toEqual([]);
    expect(decodeOwned(Buffer.from('not json'), 't')).toEqual([]);
    expect(decodeOwned(Buffer.from(JSON.stringify({ owned: { t: [1, -1, 'x', 2.5] } })), 't')).toEqual([1]);
    expect(decodeOwned(undefined, 't')).toEqual([]);
  });

  test('says whether the member is leaving; an older member (no flag) or unreadable data is staying', () => {
    expect(decodeLeaving(encodeOwned({ t: [1] }, true))).toBe(true);
    expect(decodeOwned(encodeOwned({ t: [1] }, true), 't')).toEqual([1]);
    expect(decodeLeaving(encodeOwned({ t: [1] }))).toBe(false);
    expect(decodeLeaving(Buffer.from('not json'))).toBe(false);
    expect(decodeLeaving(undefined)).toBe(false);
  });
});

describe('the kafkajs adapter', () => {
  const cluster = { findTopicPartitionMetadata: () => six.map((partitionId) => ({ partitionId })) } as never;
  const logger = {} as never;

  test("members' subscriptions carry their claims, and the leader's assignment decodes to the sticky one", async () => {
    const owns: Record<string, Record<string, number[]>> = { 'm-1': { t: six }, 'm-2': {}, 'm-3': {} };
    const members = Object.keys(owns).map((id) => {
      const assigner = stickyAssigner(() => owns[id]!)({ cluster, groupId: 'g', logger });
      const sub = assigner.protocol({ topics: ['t'] });
      expect(sub.name).toBe(STICKY_ASSIGNER_NAME);
      return { memberId: id, memberMetadata: sub.metadata as unknown as Buffer };
    });
    const leader = stickyAssigner(() => ({}))({ cluster, groupId: 'g', logger });
    const out = await leader.assign({ members, topics: ['t'] });
    const decoded = Object.fromEntries(out.map((o) => [o.memberId, AssignerProtocol.MemberAssignment.decode(o.memberAssignment)?.assignment['t']]));
    expect(decoded).toEqual({ 'm-1': [0, 1], 'm-2': [2, 3], 'm-3': [4, 5] });
  });

  test('a member that says it is leaving, when it rejoins, is given nothing by the leader', async () => {
    const owns: Record<string, Record<string, number[]>> = { 'm-1': { t: [0, 1, 2] }, 'm-2': { t: [3, 4, 5] } };
    const leaving: Record<string, boolean> = { 'm-1': false, 'm-2': true };
    const members = Object.keys(owns).map((id) => {
      const sub = stickyAssigner(() => owns[id]!, () => leaving[id]!)({ cluster, groupId: 'g', logger }).protocol({ topics: ['t'] });
      return { memberId: id, memberMetadata: sub.metadata as unknown as Buffer };
    });
    const out = await stickyAssigner(() => ({}))({ cluster, groupId: 'g', logger }).assign({ members, topics: ['t'] });
    const decoded = Object.fromEntries(out.map((o) => [o.memberId, AssignerProtocol.MemberAssignment.decode(o.memberAssignment)?.assignment['t']]));
    expect(decoded).toEqual({ 'm-1': six, 'm-2': [] });
  });
});
