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

/** HAProxy's admin socket (runtime API): a rolling restart drains an instance through it. */
export const haproxyAdminSocket = (layout: ClusterLayout): string => join(layout.dir, 'haproxy', 'admin.sock');

export function haproxyConfig(layout: ClusterLayout, apiInstances: number, template = readFileSync(HAPROXY_TEMPLATE, 'utf8')): string {
  const servers = Array.from({ length: apiInstances }, (_, i) => `    server api-${i} 127.0.0.1:${layout.apiPort(i)} check`).join('\n');
  return template
    .replaceAll('{{PUBLIC_PORT}}', String(layout.publicPort))
    .replaceAll('{{ADMIN_SOCKET}}', haproxyAdminSocket(layout))
    .replaceAll('{{SERVERS}}', servers);
}

/** One command on HAProxy's admin socket (e.g. `set server api/api-0 state drain`); its answer. */
export async function haproxyAdmin(layout: ClusterLayout, command: string): Promise<string> {
  let answer = '';
  const { promise, resolve, reject } = Promise.withResolvers<string>();
  await Bun.connect({
    unix: haproxyAdminSocket(layout),
    socket: {
      open: (socket) => void socket.write(`${command}\n`),
      data: (_socket, chunk) => void (answer += chunk.toString()),
      close: () => resolve(answer),
      error: (_socket, error) => reject(error),
    },
  }).catch(reject);
  return promise;
}

/** Open connections HAProxy has to an API instance (scur of `show stat`). */
export async function haproxySessions(layout: ClusterLayout, server: string): Promise<number> {
  const csv = await haproxyAdmin(layout, 'show stat');
  const header = csv.split('\n')[0]?.replace(/^# /, '').split(',') ?? [];
  const scur = header.indexOf('scur');
  const row = csv.split('\n').find((l) => l.startsWith(`api,${server},`));
  return Number(row?.split(',')[scur] ?? 0);
}

/**
 * Restarts API instance `name` so that no client sees it go: drain it in HAProxy (no new
 * requests), wait until its open requests finished (up to 10 s), restart it (`restart`), set it
 * ready, and wait until HAProxy's checks take it back.
 */
export async function drainedRestart(layout: ClusterLayout, name: string, restart: () => Promise<void>): Promise<void> {
  await haproxyAdmin(layout, `set server api/${name} state drain`);
  const until = Date.now() + 10_000;
  while ((await haproxySessions(layout, name)) > 0 && Date.now() < until) await Bun.sleep(100);
  await restart();
  await haproxyAdmin(layout, `set server api/${name} state ready`);
  const back = Date.now() + 15_000;
  while (Date.now() < back) {
    const row = (await haproxyAdmin(layout, 'show servers state api')).split('\n').find((l) => l.split(' ')[3] === name);
    // srv_op_state (6th field) 2 = running.
    if (row?.split(' ')[5] === '2') return;
    await Bun.sleep(200);
  }
}

/** Writes the filled-in config; returns the argv that runs HAProxy in the foreground on it. */
export function haproxyCommand(layout: ClusterLayout, apiInstances: number): string[] {
  const file = join(layout.dir, 'haproxy', 'haproxy.cfg');
  mkdirSync(join(layout.dir, 'haproxy'), { recursive: true });
  writeFileSync(file, haproxyConfig(layout, apiInstances));
  // -db: stay in the foreground (the supervisor watches the pid); -W would fork a master.
  return [HAPROXY_BINARY, '-db', '-f', file];
}
