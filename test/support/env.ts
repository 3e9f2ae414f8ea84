/**
 * Preloaded by `bun test` (bunfig.toml): the test suite runs the API in explicit development
 * mode with auth disabled, unless the caller configured otherwise. Tests of access control
 * configure keys themselves. Children spawned by tests inherit this environment.
 */
import { hideKafkajsTimerWarning } from '../../stack/log.ts';

process.env['APP_ENV'] ??= 'development';
process.env['AUTH_DISABLED'] ??= 'true';
// The shared stack is one broker (replication 1): allowed for tests, with a warning (docs/scaling.md).
process.env['KAFKA_ALLOW_UNREPLICATED'] ??= 'true';

// kafkajs schedules a negative timeout under Bun in every test file that talks to the broker;
// the warning is harmless (README, "Known limits") and only buried the test output. Other
// warnings are still printed.
hideKafkajsTimerWarning();
