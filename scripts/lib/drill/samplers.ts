/**
 * What the drill samples once a second while load runs, tagged with the current phase: RSS of
 * every process (app processes, HAProxy and servers), consumer-group lag, and each consumer
 * instance's freshness histogram (so a phase's freshness is the sum of its instances' deltas).
 */
import { rssMb } from '../fault/rss.ts';
import { lagReader } from '../fault/stores.ts';
import type { DrillCluster } from './cluster.ts';
import { type Histogram, histogramDelta, histogramSum, parseHistogram } from './measure.ts';

interface Scrape {
  readonly phase: string;
  readonly key: string;
  readonly group: string;
  readonly hist: Histogram;
}

export interface PhaseSamples {
  /** process name -> max RSS MB in the phase */
  readonly rssMb: Record<string, number>;
  /** consumer group -> max lag (messages) in the phase */
  readonly maxLag: Record<string, number>;
  /** consumer group (postgres | clickhouse) -> freshness histogram of the events committed in the phase */
  readonly freshness: Record<string, Histogram>;
}

export function startSamplers(cluster: DrillCluster, phase: () => string, everyMs = 1_000) {
  const rss = new Map<string, Record<string, number>>();
  const lag = new Map<string, Record<string, number>>();
  const scrapes: Scrape[] = [];
  const reader = lagReader(cluster.config);
  let busy = false;
  const servers = [...cluster.services.brokers, cluster.services.primary, cluster.services.standby, cluster.services.clickhouse].map((d) => d.name);

  const tick = async () => {
    if (busy) return;
    busy = true;
    const p = phase();
    try {
      const r = rss.get(p) ?? {};
      const pids: Array<[string, number | undefined]> = [
        ...cluster.supervisor.names().map((n) => [n, cluster.supervisor.pid(n)] as [string, number | undefined]),
        ...servers.map((n) => [n, cluster.serverPid(n)] as [string, number | undefined]),
      ];
      for (const [name, pid] of pids) {
        const mb = pid === undefined ? undefined : rssMb(pid);
        if (mb !== undefined) r[name] = Math.max(r[name] ?? 0, mb);
      }
      rss.set(p, r);
      await Promise.all(
        ['consumer-postgres', 'consumer-clickhouse'].flatMap((group) =>
          cluster.supervisor.names(group).map(async (name) => {
            const pid = cluster.supervisor.pid(name);
            const url = cluster.supervisor.spec(name)?.readyUrl?.replace(/\/readyz$/, '/metrics');
            if (pid === undefined || url === undefined) return;
            try {
              const text = await (await fetch(url, { signal: AbortSignal.timeout(900) })).text();
              scrapes.push({ phase: p, key: `${name}:${pid}`, group, hist: parseHistogram(text, 'consumer_freshness_seconds') });
            } catch {
              // restarting or busy: the next scrape counts its events
            }
          }),
        ),
      );
      try {
        const l = await reader.read();
        const m = lag.get(p) ?? {};
        for (const g of l.groups) m[g.group] = Math.max(m[g.group] ?? 0, g.lag);
        lag.set(p, m);
      } catch {
        // a broker is down: no lag read this second
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);

  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await reader.close();
    },
    /** Figures of one phase. */
    phase(name: string): PhaseSamples {
      const freshness: Record<string, Histogram> = {};
      for (const group of ['consumer-postgres', 'consumer-clickhouse']) {
        const deltas: Histogram[] = [];
        const keys = new Set(scrapes.filter((s) => s.group === group && s.phase === name).map((s) => s.key));
        for (const key of keys) {
          const series = scrapes.filter((s) => s.key === key);
          const firstIn = series.findIndex((s) => s.phase === name);
          const lastIn = series.findLastIndex((s) => s.phase === name);
          const before = firstIn > 0 ? series[firstIn - 1] : undefined;
          const last = series[lastIn];
          if (last) deltas.push(histogramDelta(before?.hist, last.hist));
        }
        freshness[group.replace('consumer-', '')] = histogramSum(deltas);
      }
      return { rssMb: rss.get(name) ?? {}, maxLag: lag.get(name) ?? {}, freshness };
    },
  };
}
