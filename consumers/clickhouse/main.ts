/**
 * Process entry of the ClickHouse analytics consumer: `bun consumers/clickhouse/main.ts`.
 * A second consumer group on the SessionCompleted topic (CH_CONSUMER_GROUP), batching
 * CH_BATCH_MAX_EVENTS events or CH_BATCH_MAX_WAIT_MS into one JSONEachRow insert; the shared
 * runtime decodes, dead-letters, retries and commits after the insert.
 */
import { loadConfig } from '../../src/kernel/config.ts';
import { createClickHouseClient } from '../../src/kernel/clickhouse/client.ts';
import { runConsumerMain } from '../runtime/index.ts';
import { createClickHouseInserter } from './inserter.ts';
import { createClickHouseSink } from './sink.ts';

const config = loadConfig(process.env);

await runConsumerMain({
  name: 'clickhouse',
  metricsPort: config.CH_CONSUMER_METRICS_PORT,
  groupId: config.CH_CONSUMER_GROUP,
  batchMaxEvents: config.CH_BATCH_MAX_EVENTS,
  batchMaxWaitMs: config.CH_BATCH_MAX_WAIT_MS,
  async makeSink(cfg) {
    const client = createClickHouseClient(cfg, { application: 'session-pipeline.clickhouse-consumer' });
    const sink = createClickHouseSink({ inserter: createClickHouseInserter(client, cfg.CLICKHOUSE_DATABASE) });
    return { ...sink, close: () => client.close() };
  },
});
