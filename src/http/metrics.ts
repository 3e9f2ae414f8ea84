/**
 * The API's metrics, made once per process on its registry. Names follow Prometheus
 * conventions (base units, _total for counters).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GroupCommitObserver } from '../kafka/group-commit.ts';
import { startEventLoopLagProbe } from '../kernel/observability/metrics.ts';

export interface ApiMetrics {
  readonly registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  readonly eventsAccepted: Counter;
  readonly eventsRejected: Counter<'reason'>;
  readonly authRejected: Counter<'reason'>;
  /** Full collections the memory governor forced (src/kernel/memory-governor.ts). */
  readonly forcedCollections: Histogram;
  readonly producerObserver: GroupCommitObserver;
  /** Registers gauges that read live values when scraped. */
  watchBuffer(read: () => { events: number; bytes: number; inFlightBatches: number }): void;
  /** Registers the gauge of HTTP requests the server holds (Bun's `server.pendingRequests`). */
  watchInFlight(read: () => number): void;
  stop(): void;
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status; requests refused before routing count too (route "unrouted" for an unusable Host header).',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const eventsAccepted = new Counter({
    name: 'events_accepted_total',
    help: 'SessionCompleted events acknowledged by the broker and answered 202.',
    registers: [registry],
  });
  const eventsRejected = new Counter({
    name: 'events_rejected_total',
    help:
      'Completions not accepted, by reason: the error code in lower case (validation_failed, malformed_json, unsupported_media_type, payload_too_large, rate_limited, overloaded, broker_timeout, broker_unavailable, shutting_down) or internal.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const authRejected = new Counter({
    name: 'http_auth_rejected_total',
    help: 'Requests refused by API-key checks, by reason (unauthorized, forbidden, rate_limited).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'producer_batch_events',
    help: 'Events per group-commit batch sent to Kafka.',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000],
    registers: [registry],
  });
  const batchBytes = new Histogram({
    name: 'producer_batch_bytes',
    help: 'Bytes per group-commit batch sent to Kafka.',
    buckets: [1e3, 1e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6],
    registers: [registry],
  });
  const ackLatency = new Histogram({
    name: 'producer_ack_latency_seconds',
    help: 'Time from sendBatch to the broker acknowledgement (acks=all).',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const batchFailures = new Counter({
    name: 'producer_batch_failures_total',
    help: 'Group-commit batches the broker did not accept.',
    registers: [registry],
  });
  const loopLag = new Gauge({
    name: 'event_loop_lag_seconds',
    help: 'Event-loop lag seen by a 500 ms timer.',
    registers: [registry],
  });
  const stopLagProbe = startEventLoopLagProbe((s) => loopLag.set(s));
  const forcedCollections = new Histogram({
    name: 'memory_forced_collection_seconds',
    help: 'Full garbage collections forced because JS heap plus external memory passed API_GC_THRESHOLD_MB, by how long each paused the process.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
    registers: [registry],
  });

  return {
    registry,
    observeRequest: (route, method, status, seconds) =>
      requestDuration.labels(route, method, String(status)).observe(seconds),
    eventsAccepted,
    eventsRejected,
    authRejected,
    forcedCollections,
    producerObserver: {
      batchSent: (events, bytes) => {
        batchSize.observe(events);
        batchBytes.observe(bytes);
      },
      batchAcked: (_events, seconds) => ackLatency.observe(seconds),
      batchFailed: () => batchFailures.inc(),
    },
    watchBuffer(read) {
      const gauge = (name: string, help: string, pick: (d: ReturnType<typeof read>) => number) =>
        new Gauge({ name, help, registers: [registry], collect() { this.set(pick(read())); } });
      gauge('producer_buffer_events', 'Events accepted but not yet acknowledged or rejected.', (d) => d.events);
      gauge('producer_buffer_bytes', 'Bytes of events accepted but not yet acknowledged or rejected.', (d) => d.bytes);
      gauge('producer_in_flight_batches', 'Batches sent and awaiting the broker.', (d) => d.inFlightBatches);
    },
    watchInFlight(read) {
      new Gauge({
        name: 'http_requests_in_flight',
        help: 'HTTP requests received and not yet answered (each holds its body and connection).',
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    stop: stopLagProbe,
  };
}
