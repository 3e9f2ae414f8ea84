/**
 * HAProxy in front of the cluster's API instances: deploy/haproxy-native.cfg filled in with this
 * layout's ports. Run by the supervisor (so a dead HAProxy is restarted like any app process).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import type { ClusterLayout } from './layout.ts';

export const HAPROXY_TEMPLATE = join(REPO_ROOT, 'deploy', 'haproxy-native.cfg');
export const HAPROXY_BINARY = '/usr/sbin/haproxy';

export const haproxyInstalled = (): boolean => existsSync(HAPROXY_BINARY);

export function haproxyConfig(layout: ClusterLayout, apiInstances: number, template = readFileSync(HAPROXY_TEMPLATE, 'utf8')): string {
  const servers = Array.from({ length: apiInstances }, (_, i) => `    server api-${i} 127.0.0.1:${layout.apiPort(i)} check`).join('\n');
  return template.replaceAll('{{PUBLIC_PORT}}', String(layout.publicPort)).replaceAll('{{SERVERS}}', servers);
}

/** Writes the filled-in config; returns the argv that runs HAProxy in the foreground on it. */
export function haproxyCommand(layout: ClusterLayout, apiInstances: number): string[] {
  const file = join(layout.dir, 'haproxy', 'haproxy.cfg');
  mkdirSync(join(layout.dir, 'haproxy'), { recursive: true });
  writeFileSync(file, haproxyConfig(layout, apiInstances));
  // -db: stay in the foreground (the supervisor watches the pid); -W would fork a master.
  return [HAPROXY_BINARY, '-db', '-f', file];
}
