/**
 * `npm run migrate` (= `bun scripts/migrate.ts [--topics]`): applies the Postgres and ClickHouse
 * migrations (scripts/lib/migrate.ts says how each is recorded); `--topics` also creates the Kafka
 * topics (compose's one-shot `migrate` service uses it).
 */
import { loadConfig } from '../src/kernel/config.ts';
import { isAppError } from '../src/kernel/errors.ts';
import { ensureConfiguredTopics } from '../src/kernel/kafka/topics.ts';
import { createLogger } from '../src/kernel/observability/logger.ts';
import { consoleStackLog, hideKafkajsTimerWarning } from '../stack/log.ts';
import { migrate } from './lib/migrate.ts';

if (import.meta.main) {
  hideKafkajsTimerWarning();
  try {
    const config = loadConfig(process.env);
    const log = consoleStackLog('[migrate]');
    await migrate(config, log);
    if (process.argv.includes('--topics')) {
      const topics = await ensureConfiguredTopics(config, createLogger(config, { component: 'migrate' }));
      log.info(topics.created.length === 0 ? 'topics: up to date' : `topics: created ${topics.created.join(', ')}`);
    }
  } catch (error) {
    console.error(isAppError(error) ? `[migrate] ${error.code}: ${error.message}` : error);
    process.exitCode = 1;
  }
}
