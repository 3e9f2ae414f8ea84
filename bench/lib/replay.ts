/**
 * Shared by the replay benchmarks (bench/replay-postgres.ts, bench/replay-clickhouse.ts):
 * filling a topic fast, untimed by the caller's measure of the consumer.
 */
import type { Producer } from 'kafkajs';
import { encodeSessionCompleted, type SessionCompleted } from '../../src/kernel/events/session-completed.ts';

/**
 * Produces events 0..n-1 (`eventAt(i)`) with acks=all in sendBatch calls of 10,000, at most
 * four in flight. Key, value and headers exactly as the API writes them.
 */
export async function produceEvents(producer: Producer, topic: string, n: number, eventAt: (i: number) => SessionCompleted): Promise<void> {
  const CHUNK = 10_000;
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < n; start += CHUNK) {
    const messages = [];
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const m = encodeSessionCompleted(eventAt(i));
      messages.push({ key: m.key, value: m.value, headers: { ...m.headers } });
    }
    inFlight.push(producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] }));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
}
