/**
 * A sticky partition assigner for kafkajs's classic groups: at each rebalance every member keeps
 * the partitions it had, up to its fair share, and only the rest move.
 *
 * Why (issue 13, the drill's 1 -> 3 scale-up): kafkajs ships only a round-robin assigner, which
 * deals the partitions out again over the members sorted by their (random) ids. Growing a group
 * one member at a time then moved partitions that had just moved: in one run, of six partitions
 * two went to the first new member and on to the second one at the next rebalance, one went to
 * the first new member and back. A partition that moves waits for its new owner's first fetch
 * and write, which on a busy machine take seconds in a process that has just started. With this
 * assigner a 1 -> 2 -> 3 growth moves 3 and then 2 partitions (the fewest that balance allows),
 * and every member keeps what it had up to its share. It is Kafka's StickyAssignor idea (the Java
 * client's default pairs a range assigner with the cooperative sticky one); kafkajs's protocol is
 * eager, so members still pause at each rebalance, but fewer partitions change hands.
 *
 * Each member tells the group leader what it owns in its subscription's userData (JSON,
 * `{ "owned": { topic: [partitions] } }`, plus `"leaving": true` while it stops); the leader runs
 * `stickyAssign` per topic. Members list
 * this assigner before round-robin, so a group of mixed versions agrees on round-robin until
 * every member knows this one.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const STICKY_ASSIGNER_NAME = 'SessionPipelineSticky';
const VERSION = 1;

export interface MemberClaim {
  readonly id: string;
  /** What the member said it owned when it joined (may be stale, unknown or claimed twice). */
  readonly owned: readonly number[];
  /**
   * The member is stopping: it drains, commits and leaves, but a rebalance that starts meanwhile
   * (another member left) has it rejoin. Given partitions then, it would leave with them and the
   * group would rebalance again while they wait (the drill's scale-in, issue 13). It gets none,
   * unless every member is leaving.
   */
  readonly leaving?: boolean;
}

/**
 * Pure: partitions -> member id -> its partitions, balanced (sizes differ by at most one) and
 * moving as few partitions as balance allows. Deterministic for the same input.
 */
export function stickyAssign(partitions: readonly number[], claims: readonly MemberClaim[]): Map<string, number[]> {
  const result = new Map<string, number[]>();
  if (claims.length === 0) return result;
  const staying = claims.filter((m) => m.leaving !== true);
  const members = staying.length > 0 ? staying : claims;
  for (const m of claims) result.set(m.id, []); // a leaving member: nothing
  const ids = [...new Set(members.map((m) => m.id))].sort();
  const all = [...new Set(partitions)].sort((a, b) => a - b);
  const exists = new Set(all);
  // A partition claimed by two members (a stale claim after a missed rebalance) goes to neither
  // claim: it is dealt out with the unowned ones.
  const claimedBy = new Map<number, string[]>();
  for (const m of members) for (const p of new Set(m.owned)) if (exists.has(p)) claimedBy.set(p, [...(claimedBy.get(p) ?? []), m.id]);
  const owned = new Map(ids.map((id) => [id, [] as number[]]));
  for (const [p, by] of claimedBy) if (by.length === 1) owned.get(by[0]!)?.push(p);
  for (const list of owned.values()) list.sort((a, b) => a - b);

  // Fair shares: floor(P / n) each, one more for (P mod n) members, those that own most first.
  const base = Math.floor(all.length / ids.length);
  let extra = all.length % ids.length;
  const count = (id: string) => owned.get(id)?.length ?? 0;
  const byOwned = [...ids].sort((a, b) => count(b) - count(a) || (a < b ? -1 : 1));
  const quota = new Map<string, number>();
  for (const id of byOwned) {
    const more = extra > 0 && count(id) > base;
    quota.set(id, base + (more ? 1 : 0));
    if (more) extra -= 1;
  }
  // Members that own no more than their base share get the remaining extras, in id order.
  for (const id of ids) {
    if (extra === 0) break;
    if (quota.get(id) === base) {
      quota.set(id, base + 1);
      extra -= 1;
    }
  }

  const taken = new Set<number>();
  for (const id of ids) {
    const keep = (owned.get(id) ?? []).slice(0, quota.get(id) ?? 0);
    result.set(id, keep);
    for (const p of keep) taken.add(p);
  }
  const free = all.filter((p) => !taken.has(p));
  for (const id of ids) {
    const mine = result.get(id)!;
    while (mine.length < (quota.get(id) ?? 0) && free.length > 0) mine.push(free.shift()!);
    mine.sort((a, b) => a - b);
  }
  return result;
}

/** The userData a member joins with: what it owns now, per topic, and whether it is leaving. */
export function encodeOwned(owned: Readonly<Record<string, readonly number[]>>, leaving = false): Buffer {
  return Buffer.from(JSON.stringify(leaving ? { owned, leaving } : { owned }));
}

/** A member's userData as JSON, or undefined when there is none or it is unreadable (it is only a hint). */
function parseUserData(userData: Buffer | null | undefined): { owned?: Record<string, unknown>; leaving?: unknown } | undefined {
  if (!userData || userData.length === 0) return undefined;
  try {
    return JSON.parse(userData.toString('utf8')) as { owned?: Record<string, unknown>; leaving?: unknown };
  } catch {
    return undefined;
  }
}

/** Whether a member's userData says it is leaving; anything unreadable says no. */
export function decodeLeaving(userData: Buffer | null | undefined): boolean {
  return parseUserData(userData)?.leaving === true;
}

/** A member's claim from its userData; anything unreadable claims nothing (it is only a hint). */
export function decodeOwned(userData: Buffer | null | undefined, topic: string): number[] {
  const list = parseUserData(userData)?.owned?.[topic];
  return Array.isArray(list) ? list.filter((p): p is number => Number.isInteger(p) && p >= 0) : [];
}

/**
 * The kafkajs adapter. `owned` and `leaving` are read at every join: the member's assignment
 * since its last join (empty after a crash or before the first one), and whether it is stopping.
 */
export function stickyAssigner(owned: () => Readonly<Record<string, readonly number[]>>, leaving: () => boolean = () => false): PartitionAssigner {
  return ({ cluster }) => ({
    name: STICKY_ASSIGNER_NAME,
    version: VERSION,
    protocol({ topics }) {
      return { name: STICKY_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: VERSION, topics, userData: encodeOwned(owned(), leaving()) }) };
    },
    async assign({ members, topics }) {
      const metadata = members.map((m) => ({ id: m.memberId, meta: AssignerProtocol.MemberMetadata.decode(m.memberMetadata) }));
      const perMember = new Map<string, Record<string, number[]>>(members.map((m) => [m.memberId, {}]));
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
        const claims = metadata.filter((m) => m.meta?.topics.includes(topic) ?? true).map((m) => ({ id: m.id, owned: decodeOwned(m.meta?.userData, topic), leaving: decodeLeaving(m.meta?.userData) }));
        for (const [id, parts] of stickyAssign(partitions, claims)) perMember.get(id)![topic] = parts;
      }
      return [...perMember].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: VERSION, assignment, userData: Buffer.alloc(0) }),
      }));
    },
  });
}
