/**
 * What every test consumer of the runtime shares: the test broker, the topic's names, small
 * batches, quick retries, no logs, a registry of its own, reading from the beginning. A test
 * passes only what it is about.
 */
import { Registry } from 'prom-client';
import { type BatchSink, createConsumer } from '../../consumers/runtime/index.ts';
import { silentLogger } from '../../src/kernel/observability/logger.ts';
import { testConfig, testKafka, type TestTopic } from './kafka.ts';

export type TestConsumerOptions = Parameters<typeof createConsumer>[0];

export function testConsumerOptions(t: Pick<TestTopic, 'topic' | 'dlqTopic' | 'groupId'>, sink: BatchSink, over: Partial<TestConsumerOptions> = {}): TestConsumerOptions {
  return {
    kafka: testKafka,
    brokers: testConfig.KAFKA_BROKERS,
    topic: t.topic,
    dlqTopic: t.dlqTopic,
    groupId: t.groupId,
    sink,
    batchMaxEvents: 100,
    batchMaxWaitMs: 50,
    retryMaxBackoffMs: 200,
    logger: silentLogger(),
    registry: new Registry(),
    fromBeginning: true,
    ...over,
  };
}
