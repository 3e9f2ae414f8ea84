/**
 * A join gate: new consumer instances started together join their group together.
 *
 * Each member that joins a Kafka group makes the whole group rebalance (kafkajs only has the
 * eager protocol, so every member stops until all have rejoined). Scaling a group from 1 to 3
 * starts two processes; they finish booting at different moments on a busy machine (0.5-1.5 s
 * apart in the drill), so the group rebalanced twice, and the second rebalance waited for
 * members still slowed by the other boots. With a gate, the supervisor starts the new instances
 * with CONSUMER_JOIN_GATE set to a file path; each one boots, connects its store and Kafka, marks
 * itself warm (`<gate>.warm.<pid>`) and waits for the gate file before joining. The supervisor
 * creates the gate once every new instance is warm (or after a deadline), so the group rebalances
 * once, after the boots are over.
 *
 * Each instance removes its mark once it passed; the supervisor removes the gate when no mark is
 * left. Both sides give up waiting after a deadline: an instance whose supervisor went away joins on
 * its own, and a supervisor never waits forever for an instance that crashed while booting.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const POLL_MS = 25;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const warmPrefix = (gate: string) => `${basename(gate)}.warm.`;

/** Consumer side: marks this process warm, then waits until the gate opens or `timeoutMs` passed. Returns whether it opened. */
export async function waitAtJoinGate(gate: string, timeoutMs: number, pid = process.pid): Promise<boolean> {
  const mark = join(dirname(gate), `${warmPrefix(gate)}${pid}`);
  writeFileSync(mark, '');
  const deadline = Date.now() + timeoutMs;
  try {
    while (!existsSync(gate)) {
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  } finally {
    rmSync(mark, { force: true }); // passed: the supervisor removes the gate once every mark is gone
  }
}

/** How many instances marked themselves warm at this gate. */
export function warmAtJoinGate(gate: string): number {
  const prefix = warmPrefix(gate);
  try {
    return readdirSync(dirname(gate)).filter((f) => f.startsWith(prefix)).length;
  } catch {
    return 0;
  }
}

/**
 * Supervisor side: opens the gate once `expected` instances are warm, when `gaveUp()` says one of
 * them will never be (it exited), or after `timeoutMs`. Returns how many were warm when it opened.
 */
export async function openJoinGateWhenWarm(gate: string, expected: number, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let warm = warmAtJoinGate(gate);
  while (warm < expected && Date.now() < deadline && !gaveUp()) {
    await sleep(POLL_MS);
    warm = warmAtJoinGate(gate);
  }
  writeFileSync(gate, '');
  return warm;
}

/**
 * Removes the gate once the instances passed it (their marks are gone), or after `timeoutMs`,
 * with any mark left behind by an instance that died at the gate.
 */
export async function closeJoinGate(gate: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (warmAtJoinGate(gate) > 0 && Date.now() < deadline) await sleep(POLL_MS);
  const prefix = warmPrefix(gate);
  let files: string[] = [];
  try {
    files = readdirSync(dirname(gate));
  } catch {
    return;
  }
  for (const f of files) if (f === basename(gate) || f.startsWith(prefix)) rmSync(join(dirname(gate), f), { force: true });
}
