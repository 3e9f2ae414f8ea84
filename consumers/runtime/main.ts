import { AppError } from '../../src/errors.ts';
import type { ConsumerMainArgs } from './types.ts';

/** the process entry shape: parse config, logger, registry, HTTP /healthz /readyz /metrics on metricsPort, start, SIGTERM/SIGINT -> drain + flush + exit 0 */
export async function runConsumerMain(args: ConsumerMainArgs): Promise<void> {
  void args;
  throw new AppError('INTERNAL', 'runConsumerMain: not implemented yet');
}
