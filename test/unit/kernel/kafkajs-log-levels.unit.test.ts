import { describe, expect, test } from 'bun:test';
import { logLevel } from 'kafkajs';
import { kafkajsLevel } from '../../../src/kernel/kafka/client.ts';

describe('kafkajsLevel: routine group and failover answers do not log as errors', () => {
  test("a heartbeat answered 'rebalancing' is debug, and kafkajs's rejoin notice info", () => {
    expect(kafkajsLevel(logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', 'The group is rebalancing, so a rejoin is needed')).toBe('debug');
    expect(kafkajsLevel(logLevel.WARN, 'The group is rebalancing, re-joining', undefined)).toBe('info');
  });

  test('answers kafkajs retries around a failover or a rebalance are warnings', () => {
    for (const error of [
      'This is not the correct coordinator for this group',
      "The coordinator is loading and hence can't process requests for this group",
      'The coordinator is not aware of this member',
      'Specified group generation id is not valid',
      'This server is not the leader for that topic-partition',
    ]) {
      expect(kafkajsLevel(logLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', error)).toBe('warn');
    }
  });

  test('a crash kafkajs restarts from is a warning (the consumer logs a fatal one itself)', () => {
    expect(kafkajsLevel(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error', undefined)).toBe('warn');
    expect(kafkajsLevel(logLevel.ERROR, 'Restarting the consumer in 1000ms', undefined)).toBe('warn');
  });

  test('anything else keeps its level', () => {
    expect(kafkajsLevel(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', 'The request timed out')).toBe('error');
    expect(kafkajsLevel(logLevel.ERROR, 'Response Fetch(key: 1, version: 11)', 'Not authorized to access topics: [Topic authorization failed]')).toBe('error');
    expect(kafkajsLevel(logLevel.ERROR, 'Connection error: connect ECONNREFUSED', undefined)).toBe('error');
    expect(kafkajsLevel(logLevel.WARN, 'KafkaJS v2.0.0 switched default partitioner', undefined)).toBe('warn');
    expect(kafkajsLevel(logLevel.INFO, 'Consumer has joined the group', undefined)).toBe('info');
  });
});
