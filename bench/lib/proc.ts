/**
 * CPU seconds and memory of processes, read from /proc (Linux), for the benchmark's resource
 * figures. A watched group is a process and, optionally, all its descendants (Postgres is a
 * postmaster plus one backend per connection, some of which come and go during a run).
 *
 * CPU of a group = sum over its live members of utime + stime + cutime + cstime: a member that
 * exits and is reaped moves its time into its parent's cutime/cstime, so nothing is lost or
 * counted twice. Memory: VmRSS summed over members (shared pages, such as Postgres' shared
 * buffers, count once per process that touched them), and PSS summed (shared pages split among
 * their sharers), the fair figure for a group.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { processTree, sampleProc, samplePss, TICKS_PER_SECOND } from '../../scripts/lib/proc.ts';
import type { ResourceFigures } from './results.ts';

export interface WatchedGroup {
  readonly name: string;
  readonly pid: number;
  /** Include every descendant (re-scanned at each sample). */
  readonly tree?: boolean;
  /** The process started for this run: its kernel-kept peak (VmHWM) counts as a floor of this run's peak. */
  readonly startedForRun?: boolean;
}

interface GroupState {
  readonly group: WatchedGroup;
  cpuStart: number | undefined;
  cpuLast: number | undefined;
  peakRss: number;
  peakPss: number | undefined;
  processes: number;
  /** CPU seconds at each window boundary since start (with `windowMs`). */
  marks: number[];
}

/** Tracks groups of processes across one measured run: CPU used and the highest memory seen. */
export class ResourceMonitor {
  readonly #groups = new Map<string, GroupState>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticks = 0;
  #startedAt = 0;

  /** `windowMs`: also report each group's CPU seconds per window of that length (`cpuByWindow`). */
  constructor(
    groups: readonly WatchedGroup[] = [],
    private readonly intervalMs = 250,
    private readonly windowMs?: number,
  ) {
    for (const g of groups) this.add(g);
  }

  /** Adds a group (may be called after start, e.g. for the load tool's process). */
  add(group: WatchedGroup): void {
    const state: GroupState = { group, cpuStart: undefined, cpuLast: undefined, peakRss: 0, peakPss: undefined, processes: 0, marks: [] };
    this.#groups.set(group.name, state);
    if (this.#timer) this.#sample(state, true);
  }

  start(): void {
    this.#startedAt = performance.now();
    for (const s of this.#groups.values()) this.#sample(s, true);
    this.#timer = setInterval(() => {
      // PSS walks page tables: every 4th tick (1 s) is plenty for a peak over tens of seconds.
      const pss = this.#ticks++ % 4 === 0;
      for (const s of this.#groups.values()) this.#sample(s, pss);
    }, this.intervalMs);
  }

  /** The window a sample taken now falls in (0-based), or undefined without `windowMs`. */
  #window(): number | undefined {
    return this.windowMs ? Math.floor((performance.now() - this.#startedAt) / this.windowMs) : undefined;
  }

  stop(): Record<string, ResourceFigures> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const out: Record<string, ResourceFigures> = {};
    for (const [name, s] of this.#groups) {
      this.#sample(s, true);
      if (s.cpuStart === undefined || s.cpuLast === undefined) continue;
      let peakRss = s.peakRss;
      // The kernel's own high-water mark of the root catches a peak between two samples.
      if (s.group.startedForRun) peakRss = Math.max(peakRss, sampleProc(s.group.pid)?.peakRssBytes ?? 0);
      const cpuByWindow = this.windowMs ? windowDeltas(s.cpuStart, s.marks, s.cpuLast) : undefined;
      out[name] = {
        ...(cpuByWindow ? { cpuByWindow } : {}),
        cpuSeconds: Math.round((s.cpuLast - s.cpuStart) * 100) / 100,
        peakRssMb: Math.round(peakRss / 1024 / 102.4) / 10,
        peakPssMb: s.peakPss === undefined ? null : Math.round(s.peakPss / 1024 / 102.4) / 10,
        processes: s.processes,
      };
    }
    return out;
  }

  #sample(s: GroupState, withPss: boolean): void {
    const pids = s.group.tree ? processTree(s.group.pid) : [s.group.pid];
    let cpu = 0;
    let rss = 0;
    let pss = 0;
    let pssOk = withPss;
    let alive = 0;
    for (const pid of pids) {
      const p = sampleProc(pid);
      if (!p) continue;
      alive++;
      cpu += p.cpuWithChildrenSeconds;
      rss += p.rssBytes;
      if (withPss) {
        const x = samplePss(pid);
        if (x === undefined) pssOk = false;
        else pss += x;
      }
    }
    if (alive === 0) return; // gone: keep the last figures
    s.cpuStart ??= cpu;
    // Entering window w: the CPU so far closes windows marks.length .. w-1.
    const w = this.#window();
    if (w !== undefined) while (s.marks.length < w) s.marks.push(s.cpuLast ?? cpu);
    s.cpuLast = cpu;
    s.peakRss = Math.max(s.peakRss, rss);
    if (pssOk) s.peakPss = Math.max(s.peakPss ?? 0, pss);
    s.processes = Math.max(s.processes, alive);
  }
}

/**
 * CPU seconds per window from the cumulative CPU at the start, at each window boundary, and at
 * the end (the last window is the partial one up to the end).
 */
export function windowDeltas(start: number, marks: readonly number[], end: number): number[] {
  const points = [start, ...marks, end];
  return points.slice(1).map((v, i) => Math.round((v - points[i]!) * 100) / 100);
}

/** The older interface (one process per name, CPU and peak RSS), kept for existing callers. */
export class ResourceWatch {
  readonly #monitor: ResourceMonitor;

  constructor(pids: ReadonlyMap<string, number>) {
    this.#monitor = new ResourceMonitor([...pids].map(([name, pid]) => ({ name, pid })));
  }

  start(): void {
    this.#monitor.start();
  }

  stop(): Record<string, { cpuSeconds: number; peakRssMb: number }> {
    const out: Record<string, { cpuSeconds: number; peakRssMb: number }> = {};
    for (const [k, v] of Object.entries(this.#monitor.stop())) out[k] = { cpuSeconds: v.cpuSeconds, peakRssMb: v.peakRssMb };
    return out;
  }
}

/**
 * CPU seconds of each thread of a process, by thread name (Linux `comm`, at most 15 characters;
 * trailing digits dropped so a pool's threads add up, e.g. the broker's request handlers). For a
 * JVM the names are its threads' (`data-plane-kafk`, `GC Thread`, `C2 CompilerThre`...): a cheap
 * per-part profile of the broker, whose own profiler we do not run.
 */
export function threadCpuByName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[-#\s]*\d+$/, '').trim() || '?';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
      out.set(name, (out.get(name) ?? 0) + cpu);
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

/** CPU by thread name over a window: `start()`, then `stop()` gives the top `n`, seconds each. */
export class ThreadWatch {
  #start = new Map<string, number>();
  constructor(private readonly pid: number) {}
  start(): void {
    this.#start = threadCpuByName(this.pid);
  }
  stop(n = 8): Record<string, number> {
    const end = threadCpuByName(this.pid);
    const delta = [...end].map(([name, cpu]) => [name, Math.round((cpu - (this.#start.get(name) ?? 0)) * 100) / 100] as const);
    // Threads that ended during the window are not counted (their time moved to no one we see).
    return Object.fromEntries(delta.filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]).slice(0, n));
  }
}
