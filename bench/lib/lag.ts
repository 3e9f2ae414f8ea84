/**
 * Consumer lag of both groups (committed offset vs high watermark, from Kafka) around a load:
 * sampled about once a second while the load runs (for the chart and the peak), then, from the
 * moment the load stops, polled every 100 ms until each group is at zero or a deadline passes.
 */
import type { Admin } from 'kafkajs';
import { createKafkaConsumerLagProbe } from '../../src/analytics/consumer-lag.ts';
import type { LagDrainResult } from './results.ts';

export type LagProbe = () => Promise<ReadonlyArray<{ readonly groupId: string; readonly lag: number }>>;
type Sample = { tMs: number; postgres: number; clickhouse: number };

export class LagTracker {
  readonly #samples: Sample[] = [];
  #t0 = performance.now();
  #max = { postgres: 0, clickhouse: 0 };
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: () => void = () => {};
  readonly #stopSignal = new Promise<void>((resolve) => (this.#wake = resolve));

  constructor(
    private readonly probe: LagProbe,
    private readonly groups: { postgres: string; clickhouse: string },
    private readonly timing: { sampleEveryMs: number; pollEveryMs: number } = { sampleEveryMs: 1_000, pollEveryMs: 100 },
  ) {}

  static forTopic(admin: Admin, topic: string, groups: { postgres: string; clickhouse: string }): LagTracker {
    return new LagTracker(createKafkaConsumerLagProbe(admin, topic, [groups.postgres, groups.clickhouse]), groups);
  }

  async #sample(): Promise<Sample | undefined> {
    try {
      const lags = await this.probe();
      const of = (g: string) => lags.find((l) => l.groupId === g)?.lag ?? 0;
      const s = { tMs: Math.round(performance.now() - this.#t0), postgres: of(this.groups.postgres), clickhouse: of(this.groups.clickhouse) };
      this.#samples.push(s);
      return s;
    } catch {
      return undefined; // a slow broker answer is not a reason to stop measuring
    }
  }

  /** Call when the measured load starts: sample times count from here. */
  startDuringLoad(): void {
    this.#t0 = performance.now();
    this.#loop = (async () => {
      while (!this.#stopped) {
        const s = await this.#sample();
        if (s && !this.#stopped) this.#max = { postgres: Math.max(this.#max.postgres, s.postgres), clickhouse: Math.max(this.#max.clickhouse, s.clickhouse) };
        await Promise.race([Bun.sleep(this.timing.sampleEveryMs), this.#stopSignal]);
      }
    })();
  }

  /**
   * Call when the load has stopped: the time for each group's lag to reach zero, counted from
   * the load's nominal end (`loadDurationMs` after startDuringLoad; the load tool takes some
   * 0.1-0.2 s to exit and report), or from this call when no duration is given. When the first
   * poll already sees zero, the figure is an upper bound. The once-a-second sampling is cut
   * short, not waited out.
   */
  async drain(deadlineMs: number, loadDurationMs?: number): Promise<Omit<LagDrainResult, 'apiSaid'>> {
    const now = performance.now();
    const end = loadDurationMs === undefined ? now : Math.min(now, this.#t0 + loadDurationMs);
    this.#stopped = true;
    this.#wake();
    await this.#loop;
    let pgMs: number | null = null;
    let chMs: number | null = null;
    let n = 0;
    while (performance.now() - end < deadlineMs && (pgMs === null || chMs === null)) {
      const s = await this.#sample();
      const t = performance.now() - end;
      if (s) {
        let reached = false;
        if (pgMs === null && s.postgres === 0) (pgMs = Math.round(t)), (reached = true);
        if (chMs === null && s.clickhouse === 0) (chMs = Math.round(t)), (reached = true);
        // Keep the chart's samples about a second apart (and each moment a lag reached zero).
        if (n++ % Math.max(1, Math.round(this.timing.sampleEveryMs / this.timing.pollEveryMs)) !== 0 && !reached) this.#samples.pop();
      }
      if (pgMs === null || chMs === null) await Bun.sleep(this.timing.pollEveryMs);
    }
    return {
      postgresMs: pgMs,
      clickhouseMs: chMs,
      bothMs: pgMs === null || chMs === null ? null : Math.max(pgMs, chMs),
      deadlineMs,
      maxLagDuringLoad: this.#max,
      samples: this.#samples,
    };
  }
}
