/** CPU seconds and peak RSS of a process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux x86_64

export interface ProcSample {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Tracks named processes across a scenario: CPU seconds used and the highest RSS seen. */
export class ResourceWatch {
  #start = new Map<string, ProcSample>();
  #peak = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly pids: ReadonlyMap<string, number>) {}

  start(): void {
    for (const [name, pid] of this.pids) {
      const s = sampleProc(pid);
      if (s) this.#start.set(name, s);
    }
    this.#timer = setInterval(() => {
      for (const [name, pid] of this.pids) {
        const s = sampleProc(pid);
        if (s) this.#peak.set(name, Math.max(this.#peak.get(name) ?? 0, s.rssBytes));
      }
    }, 250);
  }

  stop(): Record<string, { cpuSeconds: number; peakRssMb: number }> {
    if (this.#timer) clearInterval(this.#timer);
    const out: Record<string, { cpuSeconds: number; peakRssMb: number }> = {};
    for (const [name, pid] of this.pids) {
      const end = sampleProc(pid);
      const begin = this.#start.get(name);
      if (!end || !begin) continue;
      const peak = Math.max(this.#peak.get(name) ?? 0, end.rssBytes);
      out[name] = {
        cpuSeconds: Math.round((end.cpuSeconds - begin.cpuSeconds) * 100) / 100,
        peakRssMb: Math.round(peak / 1024 / 102.4) / 10,
      };
    }
    return out;
  }
}
