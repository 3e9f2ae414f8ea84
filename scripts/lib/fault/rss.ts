/** Samples a process's resident memory (VmRSS from /proc) on an interval, tagged by phase. */
import { readFileSync } from 'node:fs';

export function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export interface RssSampler {
  /** Max MB per phase, in the order phases were seen. */
  byPhase(): Map<string, { max: number; last: number; samples: number }>;
  stop(): void;
}

export function sampleRss(pid: () => number | undefined, phase: () => string, everyMs = 500): RssSampler {
  const phases = new Map<string, { max: number; last: number; samples: number }>();
  const timer = setInterval(() => {
    const p = pid();
    if (p === undefined) return;
    const mb = rssMb(p);
    if (mb === undefined) return;
    const name = phase();
    const cur = phases.get(name) ?? { max: 0, last: 0, samples: 0 };
    phases.set(name, { max: Math.max(cur.max, mb), last: mb, samples: cur.samples + 1 });
  }, everyMs);
  return { byPhase: () => phases, stop: () => clearInterval(timer) };
}
