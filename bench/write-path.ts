/**
 * The write-path benchmark of issue 3, now an alias of the suite (bench/run.ts) restricted to
 * the figures that issue asks for: the API against the bare Bun.serve ceiling, same tool, same
 * run, at the seed's 333 req/s, at maximum throughput (64 and 256 connections) and paced at
 * 25,000 req/s.
 *
 *   bun bench/write-path.ts [--quick] [any other bench/run.ts flag]
 */
import { join } from 'node:path';

const proc = Bun.spawn(
  [process.execPath, join(import.meta.dir, 'run.ts'), '--only=seed,max,paced-25k', '--systems=api,bare', ...process.argv.slice(2)],
  { stdio: ['inherit', 'inherit', 'inherit'] },
);
process.on('SIGINT', () => proc.kill('SIGINT'));
process.on('SIGTERM', () => proc.kill('SIGTERM'));
process.exit(await proc.exited);
