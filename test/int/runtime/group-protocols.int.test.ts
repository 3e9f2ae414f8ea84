/**
 * Two members of one group while events keep arriving, under each group protocol: a second
 * member joins, takes part of the partitions, and leaves again. Under both, every event is
 * written and the commits reach the high watermarks. What differs is the first member: under
 * the classic protocol (kafkajs) it stops whenever the membership changes, under KIP-848
 * ('consumer') the partitions it keeps are never taken from it, so it never stops (issue 13).
 */
import { describe, expect, test } from 'bun:test';
import { createConsumer, type BatchSink, type SessionCompleted } from '../../../consumers/runtime/index.ts';
import type { GroupProtocol } from '../../../consumers/runtime/group-source.ts';
import { registerCleanups } from '../../support/cleanups.ts';
import { makeEvent } from '../../support/events.ts';
import { createTestTopic, type TestTopic } from '../../support/kafka.ts';
import { waitFor } from '../../support/process.ts';
import { testConsumerOptions } from '../../support/consumers.ts';

const cleanups = registerCleanups();

class CollectingSink implements BatchSink {
  readonly ids = new Set<string>();
  writes = 0;
  constructor(readonly name: string) {}
  async write(events: readonly SessionCompleted[]) {
    this.writes += 1;
    for (const e of events) this.ids.add(e.id);
  }
}

function member(t: TestTopic, sink: CollectingSink, groupProtocol: GroupProtocol) {
  const consumer = createConsumer(
    testConsumerOptions(t, sink, { groupProtocol, batchMaxEvents: 200, metricsLabel: sink.name, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, fetchMaxWaitMs: 100 }),
  );
  cleanups.push(() => consumer.stop());
  return consumer;
}

/** How long the member was not joined (isJoined false), sampled every 10 ms. */
function watchStops(isJoined: () => boolean) {
  let notJoinedMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (!isJoined()) notJoinedMs += now - last;
    last = now;
  }, 10);
  return { stop: () => (clearInterval(timer), notJoinedMs) };
}

async function scaleOutAndIn(groupProtocol: GroupProtocol) {
  const t = await createTestTopic(`groups-${groupProtocol}`, 6);
  cleanups.push(() => t.cleanup());
  const sent: SessionCompleted[] = [];
  let producing = true;
  const producer = (async () => {
    for (let i = 0; producing; i++) {
      const batch = Array.from({ length: 20 }, (_, j) => makeEvent({ sessionId: `s-${i}-${j}`, userId: `u-${(i * 20 + j) % 50}` }));
      await t.send(batch);
      sent.push(...batch);
      await Bun.sleep(50);
    }
  })();

  const sinkA = new CollectingSink('a');
  const a = member(t, sinkA, groupProtocol);
  await a.start();
  await waitFor('the first member wrote', () => sinkA.writes > 0, 20_000);
  const watch = watchStops(() => a.isJoined?.() === true);

  const sinkB = new CollectingSink('b');
  const b = member(t, sinkB, groupProtocol);
  await b.start();
  await waitFor('the second member got partitions and wrote', () => sinkB.ids.size > 0, 20_000);
  await Bun.sleep(1_000);
  await b.stop();
  await Bun.sleep(2_000);
  const aNotJoinedMs = watch.stop();

  producing = false;
  await producer;
  await a.whenCaughtUp(30_000);
  const written = new Set([...sinkA.ids, ...sinkB.ids]);
  const missing = sent.filter((e) => !written.has(e.id)).length;
  const offsets = (await t.admin.fetchTopicOffsets(t.topic)).filter((o) => o.high !== o.low);
  const [entry] = await t.admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] });
  const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  return { sent: sent.length, missing, behind: offsets.filter((o) => committed.get(o.partition) !== o.high).length, aNotJoinedMs, bWrote: sinkB.ids.size };
}

/** Both members wrote, every event sent was written, and every partition's commit is at its end. */
function expectNothingLost(r: Awaited<ReturnType<typeof scaleOutAndIn>>) {
  expect(r.sent).toBeGreaterThan(0);
  expect(r.bWrote).toBeGreaterThan(0);
  expect(r.missing).toBe(0);
  expect(r.behind).toBe(0);
}

describe('a group growing and shrinking under load', () => {
  test('KIP-848: nothing is lost, and the member that stays never stops', async () => {
    const r = await scaleOutAndIn('consumer');
    expectNothingLost(r);
    expect(r.aNotJoinedMs).toBe(0);
  }, 90_000);

  test('classic: nothing is lost either, but the member that stays stops at each change of membership', async () => {
    const r = await scaleOutAndIn('classic');
    expectNothingLost(r);
    expect(r.aNotJoinedMs).toBeGreaterThan(0);
  }, 90_000);
});
