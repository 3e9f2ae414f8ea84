/**
 * The checks the kafkajs adapter makes on every send (src/kafka/producer.ts): kafkajs 2.2.4 can
 * resolve a sendBatch without having written the partitions whose leader moved during its
 * retries, so the adapter compares what it sent with what the answer acknowledges, and replaces
 * the producer when the broker says its sequence numbers broke.
 */
import { describe, expect, test } from 'bun:test';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { breaksProducerSequence, READY_WHILE_REPLACING_MS, transportReady, unacknowledgedPartitions, withinDeadline } from '../../../src/kafka/producer.ts';

const ack = (partition: number, errorCode = 0) => ({ partition, errorCode });

describe('unacknowledgedPartitions', () => {
  test('every partition sent to is acknowledged: nothing missing', () => {
    expect(unacknowledgedPartitions([0, 3, 5, 3], [ack(5), ack(0), ack(3)])).toEqual([]);
  });

  test('names the partitions the answer leaves out (the moved leader of a retried send)', () => {
    // Sent to partitions 0-5; the answer holds only what brokers 2 and 3 acknowledged first.
    expect(unacknowledgedPartitions([0, 1, 2, 3, 4, 5], [ack(1), ack(2), ack(4), ack(5)])).toEqual([0, 3]);
  });

  test('an entry with an error code does not count as written', () => {
    expect(unacknowledgedPartitions([1, 2], [ack(1), ack(2, 6)])).toEqual([2]);
  });

  test('an empty answer to a non-empty send misses everything', () => {
    expect(unacknowledgedPartitions(new Set([4, 2]), [])).toEqual([2, 4]);
  });
});

describe('breaksProducerSequence', () => {
  const protocol = (type: string, message: string) => {
    const e = new KafkaJSProtocolError(message);
    (e as { type: string }).type = type;
    return e;
  };

  test('an out-of-order sequence, directly or as the cause kafkajs wraps it in', () => {
    const oos = protocol('OUT_OF_ORDER_SEQUENCE_NUMBER', 'The broker received an out of order sequence number');
    expect(breaksProducerSequence(oos)).toBe(true);
    expect(breaksProducerSequence(new KafkaJSNonRetriableError(oos))).toBe(true);
  });

  test('an unknown producer id or a fenced epoch', () => {
    expect(breaksProducerSequence(protocol('UNKNOWN_PRODUCER_ID', 'This exception is raised by the broker if it could not locate the producer metadata'))).toBe(true);
    expect(breaksProducerSequence(protocol('INVALID_PRODUCER_EPOCH', 'Producer attempted an operation with an old epoch'))).toBe(true);
  });

  test('an outage is not a reason to replace the producer', () => {
    expect(breaksProducerSequence(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBe(false);
    expect(breaksProducerSequence(protocol('NOT_LEADER_FOR_PARTITION', 'This server is not the leader for that topic-partition'))).toBe(false);
    expect(breaksProducerSequence('not an error')).toBe(false);
  });
});

describe('withinDeadline (a batch kafkajs keeps retrying is given up after the ack timeout)', () => {
  test('a send that settles in time passes its value through', async () => {
    expect(await withinDeadline(Promise.resolve([1, 2]), 1_000)).toEqual({ kind: 'done', value: [1, 2] });
  });

  test('a send that fails in time passes its error through', async () => {
    const error = new Error('refused');
    await expect(withinDeadline(Promise.reject(error), 1_000)).rejects.toBe(error);
  });

  test('a send still running at the deadline is late, and its later failure is not unhandled', async () => {
    let fail: (e: Error) => void = () => {};
    const stuck = new Promise<number>((_, reject) => {
      fail = reject;
    });
    expect(await withinDeadline(stuck, 20)).toEqual({ kind: 'late' });
    fail(new Error('the old producer gave up later'));
    await Bun.sleep(10); // an unhandled rejection would fail the test run here
  });
});

describe('transportReady (/readyz of an API instance)', () => {
  const now = 1_000_000;
  test('connected: ready', () => {
    expect(transportReady({ connected: true, everSetUp: true, replacingSince: undefined }, now)).toBe(true);
  });

  test('never set up (starting, or started while the broker was down): not ready', () => {
    expect(transportReady({ connected: false, everSetUp: false, replacingSince: undefined }, now)).toBe(false);
    expect(transportReady({ connected: false, everSetUp: false, replacingSince: now - 1 }, now)).toBe(false);
  });

  test('replacing its producer after a broker fault: still ready for a while, so HAProxy keeps every instance', () => {
    expect(transportReady({ connected: false, everSetUp: true, replacingSince: now - 3_000 }, now)).toBe(true);
  });

  test('replacing for longer than the grace: taken out', () => {
    expect(transportReady({ connected: false, everSetUp: true, replacingSince: now - READY_WHILE_REPLACING_MS }, now)).toBe(false);
  });

  test('set up once, now disconnected and not replacing: not ready', () => {
    expect(transportReady({ connected: false, everSetUp: true, replacingSince: undefined }, now)).toBe(false);
  });
});
