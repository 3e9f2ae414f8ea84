/**
 * Prometheus metrics (prom-client). Each process owns one Registry, made here and passed down;
 * nothing registers on prom-client's global registry, so tests can make as many as they like.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  // CPU seconds, RSS, heap, open fds... (process_* and nodejs_* families). The event-loop delay
  // monitor samples on a timer of `eventLoopMonitoringPrecision` ms: prom-client's 10 ms cost
  // each Bun process ~0.006 core with nothing to do (issue 11's idle budget is 0.05 for all of
  // them together); at 1 s it still records how late a timer ran, which is what the lag shows.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1_000 });
  return registry;
}

/** Measures event-loop lag with a timer: works the same on Bun and Node. */
export function startEventLoopLagProbe(onSample: (lagSeconds: number) => void, intervalMs = 500): () => void {
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    onSample(Math.max(0, now - expected) / 1000);
    expected = now + intervalMs;
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
