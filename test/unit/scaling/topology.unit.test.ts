import { describe, expect, test } from 'bun:test';
import { loadConfig } from '../../../src/kernel/config.ts';
import { judgeDurability } from '../../../src/kernel/kafka/topic-durability.ts';
import { haproxyConfig } from '../../../stack/cluster/haproxy.ts';
import { brokerProperties } from '../../../stack/cluster/kafka-brokers.ts';
import { clusterEnv, clusterLayout, layoutPorts } from '../../../stack/cluster/layout.ts';
import { KAFKA_SINGLE_NODE_SETTINGS } from '../../../stack/kafka.ts';
import { terminalLogLine } from '../../../stack/terminal-log.ts';

describe('production safety: an acknowledged event must be on two brokers', () => {
  const t = (replicationFactor: number, minInsyncReplicas: number, uncleanLeaderElection = false) =>
    judgeDurability({ topic: 't', replicationFactor, minInsyncReplicas, uncleanLeaderElection });
  test('the single-node stack (1/1) and replication without min ISR (3/1) are refused', () => {
    expect(t(1, 1)).toMatchObject({ ok: false, copies: 1 });
    expect(t(3, 1)).toMatchObject({ ok: false, copies: 1 });
    expect(t(1, 2).ok).toBe(false);
  });
  test('3/2 and 2/2 pass; unclean election or min ISR above replication do not', () => {
    expect(t(3, 2)).toEqual({ ok: true });
    expect(t(2, 2)).toEqual({ ok: true });
    expect(t(3, 2, true).ok).toBe(false);
    expect(t(2, 3).ok).toBe(false);
  });
});

describe('cluster layout', () => {
  const layout = clusterLayout({ base: 40_000, publicPort: 40_300, dir: '/tmp/x' });
  test('no port is used twice, and none is a single-node default', () => {
    const ports = layoutPorts(layout);
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of [19092, 19093, 15432, 18123, 19000, 3000, 9464, 9465]) expect(ports).not.toContain(p);
  });
  test('the environment points every process at the three brokers, the cluster folder and the standby', () => {
    const env = clusterEnv({ PATH: '/bin', DATABASE_URL: 'postgres://a:b@127.0.0.1:15432/sessions' }, layout);
    const config = loadConfig(env);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:40092', '127.0.0.1:40094', '127.0.0.1:40096']);
    expect(config.STACK_DIR).toBe('/tmp/x');
    expect(new URL(config.DATABASE_URL).port).toBe('40432');
    expect(new URL(config.READ_DATABASE_URL ?? '').port).toBe('40433');
  });
  test("the cluster's consumer groups are classic unless the environment asks for KIP-848", () => {
    expect(loadConfig(clusterEnv({}, layout)).CONSUMER_GROUP_PROTOCOL).toBe('classic');
    expect(loadConfig(clusterEnv({ CONSUMER_GROUP_PROTOCOL: 'consumer' }, layout)).CONSUMER_GROUP_PROTOCOL).toBe('consumer');
  });
  test("each broker keeps the single node's tuning and gets its own id, ports and replication 3 / min ISR 2", () => {
    const config = loadConfig(clusterEnv({}, layout));
    const b = layout.brokers[1];
    if (!b) throw new Error('three brokers');
    const props = Object.fromEntries(brokerProperties(config, layout, b, '/d').split('\n').filter((l) => l.includes('=')).map((l) => l.split('=', 2) as [string, string]));
    expect(props['node.id']).toBe('2');
    expect(props.listeners).toBe('PLAINTEXT://127.0.0.1:40094,CONTROLLER://127.0.0.1:40095');
    expect(props['controller.quorum.voters']).toBe('1@127.0.0.1:40093,2@127.0.0.1:40095,3@127.0.0.1:40097');
    expect(props['default.replication.factor']).toBe('3');
    expect(props['min.insync.replicas']).toBe('2');
    expect(props['offsets.topic.replication.factor']).toBe('3');
    expect(props['unclean.leader.election.enable']).toBe('false');
    expect(props['auto.create.topics.enable']).toBe(KAFKA_SINGLE_NODE_SETTINGS['auto.create.topics.enable']);
    expect(props['log.dirs']).toBe('/d');
  });
  test('HAProxy gets one health-checked server per API instance on the public port', () => {
    const cfg = haproxyConfig(layout, 3);
    expect(cfg).toContain('bind 127.0.0.1:40300');
    expect(cfg.match(/^ {4}server api-\d 127\.0\.0\.1:\d+ check$/gm)).toEqual([
      '    server api-0 127.0.0.1:40310 check',
      '    server api-1 127.0.0.1:40311 check',
      '    server api-2 127.0.0.1:40312 check',
    ]);
    expect(cfg).toContain('option httpchk GET /readyz');
    expect(cfg).not.toContain('{{');
  });
});

describe('npm start on a terminal', () => {
  const opts = { minLevel: 40, colours: false };
  test('warnings and errors one line each, info hidden, control characters escaped', () => {
    const time = Date.parse('2026-12-02T12:03:04Z');
    expect(terminalLogLine('api-0', JSON.stringify({ level: 30, time, msg: 'access' }), opts)).toBeUndefined();
    expect(terminalLogLine('api-0', JSON.stringify({ level: 40, time, pid: 1, msg: 'buffer full', depth: 5 }), opts)).toBe('12:03:04 WARN  api-0  buffer full  {"depth":5}');
    expect(terminalLogLine('api-0', JSON.stringify({ level: 50, time, msg: 'x\u001b[2Jy' }), opts)).toBe('12:03:04 ERROR api-0  x\\x1b[2Jy');
    expect(terminalLogLine('api-0', 'TypeError: boom', opts)).toBe('--:--:-- OUT   api-0  TypeError: boom');
    expect(terminalLogLine('api-0', '   ', opts)).toBeUndefined();
  });
});
