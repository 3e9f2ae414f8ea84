/**
 * Low-priority starts. A process costs about half a CPU second to start (Bun loading and compiling
 * the modules, the clients connecting), most of it before any of our code runs. On a box whose
 * cores are already busy serving, a supervisor that starts several processes at once (a consumer
 * group scaled from 1 to 3, a crash restart) takes that CPU from the processes already serving:
 * in the drill, the Postgres group's freshness went to 1.6-2.2 s while four new members booted on
 * two cores, before any of them had joined.
 *
 * So the supervisor starts such a process at nice START_NICE (`startNice` in its spec), and tells
 * it the priority to take back (NICE_AFTER_START) once its start work is done, just before it
 * joins its consumer group. Taking a priority back needs CAP_SYS_NICE (or an RLIMIT_NICE that
 * allows it); the supervisor checks that first and starts the process at normal priority when it
 * could not be taken back, so a process never stays slow for its whole life.
 */
import { getPriority, setPriority } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';

/** The nice value a process starts at when its supervisor starts it at low priority. */
export const START_NICE = 19;

/** Bit 23 of the capability sets (linux/capability.h). */
const CAP_SYS_NICE = 23n;

/** Whether a process with this /proc/self/status and /proc/self/limits may lower its nice value to `target`. */
export function mayRaisePriorityTo(target: number, status: string, limits: string): boolean {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  if (capEff !== undefined && (BigInt(`0x${capEff}`) >> CAP_SYS_NICE) & 1n) return true;
  // RLIMIT_NICE's soft limit r allows nice values down to 20 - r.
  const soft = /^Max nice priority\s+(\d+|unlimited)/im.exec(limits)?.[1];
  if (soft === undefined) return false;
  return soft === 'unlimited' || 20 - Number(soft) <= target;
}

/** Whether this process (and so a child it starts) may take a priority of `target` back after a low-priority start. */
export function canRaisePriorityTo(target: number): boolean {
  try {
    return mayRaisePriorityTo(target, readFileSync('/proc/self/status', 'utf8'), readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return false; // not Linux: no low-priority starts
  }
}

export interface PriorityLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Takes back the priority the supervisor asked for (`niceAfterStart`, from NICE_AFTER_START);
 * nothing when it is unset. A refusal is logged, not thrown: the process still works, slower.
 */
export function restoreStartPriority(niceAfterStart: number | undefined, logger: PriorityLogger): void {
  if (niceAfterStart === undefined) return;
  const from = getPriority();
  if (from === niceAfterStart) return;
  try {
    // On Linux a nice value belongs to a thread: Bun's JIT, GC and I/O threads started at nice 19
    // with the main thread, and each must be given the priority back.
    let threads = 0;
    for (const tid of threadIds()) {
      try {
        setPriority(tid, niceAfterStart);
        threads += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // ESRCH: the thread has just ended
      }
    }
    logger.info({ from, to: niceAfterStart, threads }, 'started at low CPU priority; normal priority taken back');
  } catch (error) {
    logger.warn({ from, to: niceAfterStart, error: (error as Error).message }, 'could not take the normal CPU priority back (needs CAP_SYS_NICE); running on at low priority');
  }
}

/** This process's threads (Linux), or just the process where /proc is not there. */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [process.pid];
  }
}
