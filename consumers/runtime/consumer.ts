import { AppError } from '../../src/errors.ts';
import type { ConsumerOptions, RunningConsumer } from './types.ts';

export function createConsumer(options: ConsumerOptions): RunningConsumer {
  void options;
  throw new AppError('INTERNAL', 'createConsumer: run loop not implemented yet');
}
