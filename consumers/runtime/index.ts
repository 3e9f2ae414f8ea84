/** The shared consumer runtime: one run loop, one entry-point shape, for every consumer. */
export type { BatchSink, ConsumerOptions, RunningConsumer, ConsumerMainArgs, SessionCompleted, WriteReport } from './types.ts';
export { createConsumer } from './consumer.ts';
export { runConsumerMain } from './main.ts';
