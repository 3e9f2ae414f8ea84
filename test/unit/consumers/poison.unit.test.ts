/**
 * The pure half of "a poisoned event never stops a partition": which store errors are refusals,
 * what the loop decides on them, and the bisection plan that isolates the refused events.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { afterSlice, halves, nextBisectStep, startBisection, type Bisection } from '../../../consumers/runtime/bisect.ts';
import { decideOnWriteFailure, storeRejected } from '../../../consumers/runtime/write-failure.ts';
import { classifyPostgresError } from '../../../consumers/postgres/errors.ts';
import { classifyClickHouseError } from '../../../consumers/clickhouse/errors.ts';
import { AppError } from '../../../src/kernel/errors.ts';

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('classifyPostgresError', () => {
  const cases: Array<[string, 'transient' | 'rejected']> = [
    ['23514', 'rejected'], // check_violation
    ['23505', 'rejected'], // unique_violation
    ['22003', 'rejected'], // numeric_value_out_of_range
    ['22P02', 'rejected'], // invalid_text_representation (COPY)
    ['54000', 'rejected'], // program_limit_exceeded
    ['P0001', 'rejected'], // raise_exception (a trigger)
    ['08006', 'transient'], // connection_failure
    ['40P01', 'transient'], // deadlock_detected
    ['40001', 'transient'], // serialization_failure
    ['53300', 'transient'], // too_many_connections
    ['57P01', 'transient'], // admin_shutdown
    ['57014', 'transient'], // query_canceled
    ['25006', 'transient'], // read_only_sql_transaction (a replica)
    ['42P01', 'transient'], // undefined_table: an operator's fix, not a dead letter per event
  ];
  for (const [code, kind] of cases) {
    test(`SQLSTATE ${code} is ${kind}`, () => expect(classifyPostgresError(pgError(code)).kind).toBe(kind));
  }
  test('the SQLSTATE is found on the cause, and the message kept', () => {
    const wrapped = new AppError('STORE_UNAVAILABLE', 'rolled back', { cause: pgError('23514', 'violates check constraint "poison"') });
    expect(classifyPostgresError(wrapped)).toEqual({ kind: 'rejected', code: '23514', message: 'violates check constraint "poison"' });
  });
  test('no SQLSTATE (a socket error) is transient', () => {
    expect(classifyPostgresError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).kind).toBe('transient');
    expect(classifyPostgresError('weird')).toEqual({ kind: 'transient' });
  });
});

describe('classifyClickHouseError', () => {
  const ch1816 = (code: number, text: string) => new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception\n`);
  test("18.16's plain Error: throwIf (395) is refused, with the store's words", () => {
    expect(classifyClickHouseError(ch1816(395, "Value passed to 'throwIf' function is non zero"))).toEqual({
      kind: 'rejected',
      code: 'clickhouse-395',
      message: "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero",
    });
  });
  test('a current server\'s ClickHouseError (code field) is read too', () => {
    const e = Object.assign(new Error('Value is out of range'), { name: 'ClickHouseError', code: '321' });
    expect(classifyClickHouseError(e).kind).toBe('rejected');
  });
  test('"too many partitions" is refused although its code (252, too many parts) is transient', () => {
    expect(classifyClickHouseError(ch1816(252, 'Too many parts (300). Merges are processing significantly slower than inserts')).kind).toBe('transient');
    expect(classifyClickHouseError(ch1816(252, 'Too many partitions for single INSERT block (more than 100).')).kind).toBe('rejected');
    expect(classifyClickHouseError(new Error('Code: 252. DB::Exception: Too many partitions for a single INSERT block (more than 100)')).kind).toBe('rejected');
  });
  test('network trouble, timeouts, read-only and schema errors are transient', () => {
    expect(classifyClickHouseError(new Error('socket hang up')).kind).toBe('transient');
    expect(classifyClickHouseError(new Error('Timeout error.')).kind).toBe('transient');
    expect(classifyClickHouseError(ch1816(164, 'Table is in readonly mode')).kind).toBe('transient');
    expect(classifyClickHouseError(ch1816(60, 'Table x.session_events doesn\'t exist.')).kind).toBe('transient');
    expect(classifyClickHouseError(ch1816(241, 'Memory limit exceeded')).kind).toBe('transient');
  });
  test('found on the cause of a wrapping error', () => {
    const wrapped = new AppError('STORE_UNAVAILABLE', 'insert failed', { cause: ch1816(41, 'Cannot parse datetime') });
    expect(classifyClickHouseError(wrapped)).toMatchObject({ kind: 'rejected', code: 'clickhouse-41' });
  });
});

describe('decideOnWriteFailure', () => {
  test('a retriable or unknown error is retried', () => {
    expect(decideOnWriteFailure(new AppError('STORE_UNAVAILABLE', 'down'))).toEqual({ kind: 'retry' });
    expect(decideOnWriteFailure(new Error('anything'))).toEqual({ kind: 'retry' });
    expect(decideOnWriteFailure(undefined)).toEqual({ kind: 'retry' });
  });
  test('STORE_REJECTED isolates, with the store code and message', () => {
    const error = storeRejected('Postgres', '23514', 'violates check constraint "poison"', pgError('23514'));
    expect(error.retriable).toBe(false);
    expect(decideOnWriteFailure(error)).toEqual({
      kind: 'isolate',
      code: '23514',
      reason: 'Postgres refused the write (23514): violates check constraint "poison"',
    });
  });
  test('any non-retriable AppError isolates (the loop acts on `retriable`)', () => {
    expect(decideOnWriteFailure(new AppError('INTERNAL', 'bug'))).toEqual({ kind: 'isolate', code: 'unknown', reason: 'bug' });
  });
});

/** Runs a plan against a store that refuses the events in `poison` (and, optionally, slices larger than `maxSlice`). */
function simulate(size: number, poison: ReadonlySet<number>, maxSlice = Infinity): { plan: Bisection; written: number[] } {
  const refusal = { code: 'X', reason: 'refused' };
  const written: number[] = [];
  let plan = startBisection(size, refusal);
  for (let step = nextBisectStep(plan); step.kind === 'write'; step = nextBisectStep(plan)) {
    const { start, end } = step.slice;
    const bad = end - start > maxSlice || [...poison].some((i) => i >= start && i < end);
    if (!bad) for (let i = start; i < end; i++) written.push(i);
    plan = afterSlice(plan, bad ? { kind: 'refused', ...refusal } : { kind: 'written' });
  }
  return { plan, written };
}

describe('bisection plan', () => {
  test('halves cover a slice exactly', () => {
    expect(halves({ start: 0, end: 5 })).toEqual([{ start: 0, end: 3 }, { start: 3, end: 5 }]);
    expect(halves({ start: 4, end: 6 })).toEqual([{ start: 4, end: 5 }, { start: 5, end: 6 }]);
  });

  test('a batch of one refused event is that event', () => {
    const plan = startBisection(1, { code: '23514', reason: 'no' });
    expect(nextBisectStep(plan)).toEqual({ kind: 'done', refused: [{ index: 0, code: '23514', reason: 'no' }] });
  });

  test('one poison event among 5,000: found alone, everything else written once, ~2·log2(n) writes', () => {
    const { plan, written } = simulate(5_000, new Set([3_141]));
    expect(plan.refused.map((r) => r.index)).toEqual([3_141]);
    expect(written.length).toBe(4_999);
    expect(new Set(written).size).toBe(4_999);
    expect(plan.writes).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(5_000)) + 1);
  });

  test('a batch refused as a whole (too many partitions) is written in slices, nothing refused', () => {
    const { plan, written } = simulate(1_000, new Set(), 300);
    expect(plan.refused).toEqual([]);
    expect(written.sort((a, b) => a - b)).toEqual([...Array(1_000).keys()]);
  });

  test('property: exactly the poison events are refused, every other event is written exactly once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: Math.min(n, 20) }))),
        ([n, poisonList]) => {
          const poison = new Set(poisonList);
          const { plan, written } = simulate(n, poison);
          expect(plan.refused.map((r) => r.index).sort((a, b) => a - b)).toEqual([...poison].sort((a, b) => a - b));
          expect(written.length).toBe(n - poison.size);
          expect(new Set(written).size).toBe(written.length);
          expect(written.some((i) => poison.has(i))).toBe(false);
        },
      ),
    );
  });
});
