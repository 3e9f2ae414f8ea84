/**
 * examples/subscriber.ts as a reader would run it: a child process against the real broker, on
 * a fresh topic with its own group. It handles every valid event once (v1 and v2), skips a
 * duplicate and an invalid message, commits what it handled, exits 0 on SIGTERM, and a restart
 * with the same group handles only what is new.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import type { Message } from 'kafkajs';
import { encodeSessionCompleted, type SessionCompleted } from '../../../src/kernel/events/session-completed.ts';
import { makeEvent } from '../../support/events.ts';
import { testConfig, testKafka, topicFactory } from '../../support/kafka.ts';
import { repoRoot, waitFor } from '../../support/process.ts';

const freshTopic = topicFactory();
const admin = testKafka.admin();
await admin.connect();
const groups: string[] = [];
afterAll(async () => {
  await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
});

interface Running {
  readonly proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** Collects a stream's lines as they arrive. */
function collectLines(stream: ReadableStream<Uint8Array>, into: string[]): void {
  void (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        into.push(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    }
  })();
}

const children: Running['proc'][] = [];
afterAll(() => {
  for (const proc of children) if (proc.exitCode === null) proc.kill('SIGKILL');
});

function runSubscriber(topic: string, group: string): Running {
  const proc = Bun.spawn(
    [process.execPath, 'examples/subscriber.ts', '--brokers', testConfig.KAFKA_BROKERS.join(','), '--topic', topic, '--group', group, '--from-beginning'],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(proc);
  const running: Running = { proc, stdout: [], stderr: [] };
  collectLines(proc.stdout, running.stdout);
  collectLines(proc.stderr, running.stderr);
  return running;
}

/** SIGTERM, then the exit code (or a failure naming the deadline). */
async function terminate(r: Running, timeoutMs = 30_000): Promise<number> {
  r.proc.kill('SIGTERM');
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs));
  return Promise.race([r.proc.exited, timer]);
}

const logged = (r: Running, msg: string) => r.stderr.filter((l) => l.includes(`"msg":"${msg}"`));
const handledIds = (r: Running) => r.stdout.map((l) => (JSON.parse(l) as { id: string }).id);

/** True once the group's commits reach every partition's high watermark. */
async function committedToEnd(topic: string, group: string): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  return ends.every((o) => o.high === o.low || (committed.get(o.partition) ?? -1n) >= BigInt(o.high));
}

async function produce(topic: string, messages: Message[]): Promise<void> {
  const producer = testKafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

let seq = 0;
function event(version: 1 | 2, userId: string): SessionCompleted {
  seq += 1;
  return makeEvent({
    version,
    userId,
    sessionId: `sub-s-${seq}`,
    completedAt: Date.parse('2026-06-01T12:00:00.000Z') + seq * 1_000,
    clientLagMs: 150,
    score: seq % 2 ? seq * 1.5 : null,
    outcome: (['completed', 'failed', 'abandoned'] as const)[seq % 3]!,
    ...(seq % 3 === 0 ? { attributes: { level: seq, ranked: true } } : {}),
    ...(seq % 2 === 0 ? { clientVersion: `ios/5.${seq}.0` } : {}),
  });
}
const toMessage = (e: SessionCompleted): Message => {
  const m = encodeSessionCompleted(e);
  return { key: m.key, value: m.value, headers: { ...m.headers } };
};

describe('examples/subscriber.ts against the real broker', () => {
  test('handles every event once (duplicate and invalid message skipped), commits, drains on SIGTERM, resumes after its commit', async () => {
    const topic = await freshTopic('subscriber', 3);
    const group = `${topic}.example-subscriber`;
    groups.push(group);

    const events = [...Array.from({ length: 6 }, (_, i) => event(1, `sub-u-${i % 4}`)), ...Array.from({ length: 6 }, (_, i) => event(2, `sub-u-${i % 4}`))];
    const duplicate = events[7]!; // a v2 event delivered twice, as a client retry with the same Idempotency-Key does
    const invalid = { ...toMessage(events[0]!), value: JSON.stringify({ ...events[0]!, id: crypto.randomUUID(), data: { ...events[0]!.data, userId: 'no spaces allowed' } }) };
    await produce(topic, [...events.slice(0, 9).map(toMessage), toMessage(duplicate), invalid, ...events.slice(9).map(toMessage)]);

    const first = runSubscriber(topic, group);
    await waitFor('the subscriber to handle and commit everything', async () => handledIds(first).length >= events.length && (await committedToEnd(topic, group)), 90_000);

    // Exactly the events produced, each once, each exactly as produced (v1 and v2 alike).
    expect(handledIds(first).sort()).toEqual(events.map((e) => e.id).sort());
    const printed = new Map(first.stdout.map((l) => [(JSON.parse(l) as { id: string }).id, JSON.parse(l)]));
    for (const e of events) expect(printed.get(e.id)).toEqual(e);
    expect(logged(first, 'duplicate skipped').map((l) => JSON.parse(l).eventId)).toEqual([duplicate.id]);
    const skipped = logged(first, 'invalid message skipped');
    expect(skipped).toHaveLength(1);
    expect(JSON.parse(skipped[0]!).reason).toContain('/data/userId');

    expect(await terminate(first)).toBe(0);
    expect(logged(first, 'stopped')).toHaveLength(1);

    // Restarted with the same group: only what arrived since is handled (the commit held).
    const later = [event(2, 'sub-u-1'), event(1, 'sub-u-2')];
    await produce(topic, later.map(toMessage));
    const second = runSubscriber(topic, group);
    await waitFor('the restarted subscriber to handle and commit the new events', async () => handledIds(second).length >= later.length && (await committedToEnd(topic, group)), 90_000);
    expect(handledIds(second).sort()).toEqual(later.map((e) => e.id).sort());
    expect(await terminate(second)).toBe(0);
  }, 240_000);
});
