/**
 * The production-safety check against the real (single-node) broker: its topics have one
 * replica, so production refuses them unless KAFKA_ALLOW_UNREPLICATED says it is meant. The
 * replicated case (3 brokers) is exercised by `npm run drill`, which checks its topic first.
 */
import { describe, expect, test } from 'bun:test';
import { isAppError } from '../../../src/kernel/errors.ts';
import { enforceTopicDurability, judgeDurability, readTopicDurability } from '../../../src/kernel/kafka/topic-durability.ts';
import { silentLogger } from '../../../src/kernel/observability/logger.ts';
import { testConfig, testKafka, topicFactory } from '../../support/kafka.ts';

const makeTopic = topicFactory();

const warnings = () => {
  const seen: string[] = [];
  const logger = silentLogger();
  return { seen, logger: Object.assign(Object.create(logger) as typeof logger, { warn: (_o: unknown, msg?: string) => seen.push(String(msg ?? _o)) }) };
};

describe('topic durability (single broker)', () => {
  test('reads replication 1 and min.insync.replicas 1, and judges it unsafe', async () => {
    const topic = await makeTopic('durability', 2);
    const admin = testKafka.admin();
    await admin.connect();
    try {
      const d = await readTopicDurability(admin, topic);
      expect(d).toEqual({ topic, replicationFactor: 1, minInsyncReplicas: 1, uncleanLeaderElection: false });
      expect(judgeDurability(d!).ok).toBe(false);
      expect(await readTopicDurability(admin, `${topic}.missing`)).toBeUndefined();
    } finally {
      await admin.disconnect();
    }
  });

  test('production refuses it naming the settings and the override; the override and development only warn', async () => {
    const topic = await makeTopic('durability', 1);
    const base = { ...testConfig, KAFKA_TOPIC: topic };
    const error = await enforceTopicDurability({ ...base, APP_ENV: 'production', KAFKA_ALLOW_UNREPLICATED: false }, silentLogger(), 20_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppError(error) && error.code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toContain('replication factor 1');
    expect((error as Error).message).toContain('min.insync.replicas=1');
    expect((error as Error).message).toContain('KAFKA_ALLOW_UNREPLICATED=true');

    for (const settings of [{ APP_ENV: 'production' as const, KAFKA_ALLOW_UNREPLICATED: true }, { APP_ENV: 'development' as const, KAFKA_ALLOW_UNREPLICATED: false }]) {
      const w = warnings();
      await enforceTopicDurability({ ...base, ...settings }, w.logger, 20_000); // resolves at once; checks in the background
      const deadline = Date.now() + 20_000;
      while (w.seen.length === 0 && Date.now() < deadline) await Bun.sleep(100);
      expect(w.seen.join('\n')).toContain('not safe for production');
    }
  });
});
