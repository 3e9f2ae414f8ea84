/**
 * Offset bookkeeping, without Kafka. Offsets are int64 strings on the wire; BigInt keeps them
 * exact. What we commit for a partition is always the highest processed offset + 1.
 */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: string;
}

/**
 * Highest offset + 1 per partition, over the messages of one written batch. Offsets only grow
 * within a partition in the buffer (OffsetBook refuses re-fetched ones), so the last message of
 * each partition is its highest; BigInt only once per partition (it showed in profiles when
 * done per message).
 */
export function nextOffsets(items: Iterable<PartitionOffset>): Map<number, string> {
  const last = new Map<number, string>();
  for (const { partition, offset } of items) last.set(partition, offset);
  const next = new Map<number, string>();
  for (const [partition, offset] of last) next.set(partition, (BigInt(offset) + 1n).toString());
  return next;
}

/**
 * Remembers, per partition, the highest offset taken into the buffer, so a message the broker
 * hands us again after a group rejoin (it re-fetches from the last commit) is not buffered twice.
 */
export class OffsetBook {
  private readonly taken = new Map<number, bigint>();
  private readonly committed = new Map<number, bigint>();

  /** True if the message is new for this partition (and records it); false for a re-fetch. */
  accept(partition: number, offset: string): boolean {
    const o = BigInt(offset);
    const prev = this.taken.get(partition);
    if (prev !== undefined && o <= prev) return false;
    this.taken.set(partition, o);
    return true;
  }

  /** Forget partitions we no longer own: if they come back, the broker restarts at the commit. */
  retainOnly(partitions: ReadonlySet<number>): void {
    for (const p of [...this.taken.keys()]) if (!partitions.has(p)) this.taken.delete(p);
    for (const p of [...this.committed.keys()]) if (!partitions.has(p)) this.committed.delete(p);
  }

  markCommitted(partition: number, nextOffset: string): void {
    this.committed.set(partition, BigInt(nextOffset));
  }

  committedOffset(partition: number): bigint | undefined {
    return this.committed.get(partition);
  }
}

/** Messages not yet committed: high watermark minus the committed offset (never negative). */
export function partitionLag(highWatermark: string, committed: bigint | undefined, fallback: bigint): number {
  const base = committed ?? fallback;
  const lag = BigInt(highWatermark) - base;
  return lag > 0n ? Number(lag) : 0;
}

export interface WatermarkRange {
  readonly partition: number;
  /** Offset of the next message to be written (the high watermark). */
  readonly high: string;
  readonly low: string;
}

/**
 * Caught up when, for every partition, the group's committed offset reached the high watermark
 * seen earlier, or the partition holds nothing (high == low). `committed` is -1 (or absent)
 * where the group has no commit.
 */
export function isCaughtUp(targets: readonly WatermarkRange[], committed: ReadonlyMap<number, string>): boolean {
  return targets.every(({ partition, high, low }) => {
    if (BigInt(high) <= BigInt(low)) return true;
    const c = committed.get(partition);
    return c !== undefined && BigInt(c) >= BigInt(high);
  });
}
