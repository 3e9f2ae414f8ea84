/**
 * The cluster topology's ports and folders. It never shares anything with the single-node stack
 * (ports 19092/15432/18123/3000, folder .stack): its own folder (.stack-cluster) and ports from a
 * base (default 29000), so both can run side by side and the shared stack everyone's tests use is
 * never disturbed. The drill picks another free base and a temp folder.
 *
 *   base+92/93, +94/95, +96/97   Kafka brokers 1-3 (client / KRaft controller)
 *   base+432, base+433           Postgres primary, streaming standby
 *   base+123, base+900           ClickHouse HTTP, native TCP
 *   base+310+i                   API instance i (behind HAProxy)
 *   base+464+2i, base+465+2i     Postgres / ClickHouse consumer instance i (/metrics)
 *   publicPort (default 3100)    HAProxy: the API's one address
 */
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/kernel/config.ts';
import { REPO_ROOT } from '../paths.ts';

export const CLUSTER_DEFAULT_BASE = 29_000;
export const CLUSTER_DEFAULT_PUBLIC_PORT = 3_100;
export const CLUSTER_DEFAULT_DIR = '.stack-cluster';
export const CLUSTER_BROKERS = 3;
export const CLUSTER_DEFAULT_API_INSTANCES = 2;
export const CLUSTER_DEFAULT_CONSUMER_INSTANCES = 2;
/** Instances per group the port plan leaves room for. */
export const CLUSTER_MAX_INSTANCES = 8;

export interface BrokerPorts {
  readonly nodeId: number;
  readonly port: number;
  readonly controllerPort: number;
}

export interface ClusterLayout {
  readonly dir: string;
  readonly base: number;
  readonly publicPort: number;
  readonly brokers: readonly BrokerPorts[];
  readonly pgPort: number;
  readonly pgStandbyPort: number;
  readonly chHttpPort: number;
  readonly chTcpPort: number;
  apiPort(index: number): number;
  pgConsumerPort(index: number): number;
  chConsumerPort(index: number): number;
}

export function clusterLayout(options: { dir?: string; base?: number; publicPort?: number } = {}): ClusterLayout {
  const base = options.base ?? CLUSTER_DEFAULT_BASE;
  const dir = options.dir ?? join(REPO_ROOT, CLUSTER_DEFAULT_DIR);
  return {
    dir,
    base,
    publicPort: options.publicPort ?? CLUSTER_DEFAULT_PUBLIC_PORT,
    brokers: Array.from({ length: CLUSTER_BROKERS }, (_, i) => ({ nodeId: i + 1, port: base + 92 + 2 * i, controllerPort: base + 93 + 2 * i })),
    pgPort: base + 432,
    pgStandbyPort: base + 433,
    chHttpPort: base + 123,
    chTcpPort: base + 900,
    apiPort: (i) => base + 310 + i,
    pgConsumerPort: (i) => base + 464 + 2 * i,
    chConsumerPort: (i) => base + 465 + 2 * i,
  };
}

/** Every port the layout uses (for a free-port check). */
export function layoutPorts(layout: ClusterLayout): number[] {
  const out = [layout.publicPort, layout.pgPort, layout.pgStandbyPort, layout.chHttpPort, layout.chTcpPort];
  for (const b of layout.brokers) out.push(b.port, b.controllerPort);
  for (let i = 0; i < CLUSTER_MAX_INSTANCES; i++) out.push(layout.apiPort(i), layout.pgConsumerPort(i), layout.chConsumerPort(i));
  return out;
}

/** URL of the app's database on the standby (same role and database as DATABASE_URL). */
export function standbyUrl(config: Config, layout: ClusterLayout): string {
  const url = new URL(config.DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(layout.pgStandbyPort);
  return url.toString();
}

/**
 * The environment every process of the cluster gets: the caller's, with the stack's ports and
 * folder replaced (derived URLs follow them), the three brokers as bootstrap servers, and the
 * read routes on the standby.
 */
export function clusterEnv(env: Readonly<Record<string, string | undefined>>, layout: ClusterLayout): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !['KAFKA_BROKERS', 'DATABASE_URL', 'READ_DATABASE_URL', 'CLICKHOUSE_URL'].includes(k)) out[k] = v;
  }
  const first = layout.brokers[0];
  if (first === undefined) throw new Error('a cluster has brokers');
  Object.assign(out, {
    STACK_DIR: layout.dir,
    KAFKA_PORT: String(first.port),
    KAFKA_CONTROLLER_PORT: String(first.controllerPort),
    KAFKA_BROKERS: layout.brokers.map((b) => `127.0.0.1:${b.port}`).join(','),
    KAFKA_HEAP: env.KAFKA_HEAP ?? '384m',
    PG_PORT: String(layout.pgPort),
    CLICKHOUSE_HTTP_PORT: String(layout.chHttpPort),
    CLICKHOUSE_TCP_PORT: String(layout.chTcpPort),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(layout.publicPort),
    API_WORKERS: '1',
    // A SIGKILLed consumer's partitions must be served again within 15 s (issue 13): with 10 s
    // (the default) the drill measured 15.8-16.9 s on a loaded box; 6 s leaves room (7.2-9.3 s measured).
    CONSUMER_SESSION_TIMEOUT_MS: env.CONSUMER_SESSION_TIMEOUT_MS ?? '6000',
    // Members learn of a rebalance from a heartbeat answer and all stop until every one has
    // rejoined: a 1 s heartbeat made each scale step pause both groups 0.4-0.8 s (the drill).
    CONSUMER_HEARTBEAT_INTERVAL_MS: env.CONSUMER_HEARTBEAT_INTERVAL_MS ?? '250',
    // A consumer fetches from each partition leader separately: with the partitions spread over
    // three brokers a fetch rarely reaches CONSUMER_FETCH_MIN_BYTES, so it always waits out the
    // max wait, which is then a fixed term of freshness. 250 ms instead of 500 keeps the 1 s
    // Postgres goal in reach (docs/scaling.md, the drill) for a few more fetches a second.
    CONSUMER_FETCH_MAX_WAIT_MS: env.CONSUMER_FETCH_MAX_WAIT_MS ?? '250',
    // ClickHouse's batches wait up to 1 s by default, which puts its freshness p99 at 1.75-2 s at
    // 1,000 req/s with no fault at all (the drill): no room left for a rebalance under the 2 s
    // goal. 500 ms doubles the inserts (2 a second per instance, well within what a MergeTree takes).
    CH_BATCH_MAX_WAIT_MS: env.CH_BATCH_MAX_WAIT_MS ?? '500',
    // Three brokers format and start at once (three JVMs on two cores): 90 s was seen to run out.
    STACK_START_TIMEOUT_MS: env.STACK_START_TIMEOUT_MS ?? '300000',
  });
  const config = loadConfig(out);
  out.READ_DATABASE_URL = standbyUrl(config, layout);
  return out;
}
