/**
 * The bisection plan: which slices of a refused batch to write, in which order, to find the
 * events a store refuses. Pure; the run loop (consumer.ts) only performs the writes it names.
 *
 * A batch the store refused (write-failure.ts, kind `isolate`) is split in two halves; each half
 * is written on its own. A half that is written is done (its events landed); a half that is
 * refused is split again; a single refused event is a refusal: the loop dead-letters it. Every
 * event ends up either written once by exactly one successful slice or refused, so the batch can
 * be committed. With k poison events among n, that is about 2·k·log2(n) writes; a refusal of the
 * batch as a whole (ClickHouse's "too many partitions for a single INSERT block") ends with every
 * event written by smaller slices and none refused.
 * The writes are idempotent (the sinks' contract), which is what makes re-writing the events of a
 * refused slice in smaller ones safe.
 */
import type { Refusal } from './write-failure.ts';

/** `[start, end)` indexes into the batch. */
export interface Slice {
  readonly start: number;
  readonly end: number;
}

export interface RefusedEvent extends Refusal {
  readonly index: number;
}

export interface Bisection {
  /** Slices still to write, first one next. */
  readonly pending: readonly Slice[];
  readonly refused: readonly RefusedEvent[];
  /** Writes made so far, the refused whole batch included. */
  readonly writes: number;
}

export type BisectStep = { readonly kind: 'write'; readonly slice: Slice } | { readonly kind: 'done'; readonly refused: readonly RefusedEvent[] };

export type SliceOutcome = { readonly kind: 'written' } | ({ readonly kind: 'refused' } & Refusal);

/** The two halves of a slice of two or more events (the first one holds the odd event). */
export function halves(slice: Slice): [Slice, Slice] {
  const middle = slice.start + Math.ceil((slice.end - slice.start) / 2);
  return [
    { start: slice.start, end: middle },
    { start: middle, end: slice.end },
  ];
}

/** After the whole batch of `size` events was refused with `refusal`. */
export function startBisection(size: number, refusal: Refusal): Bisection {
  return afterSlice({ pending: [{ start: 0, end: size }], refused: [], writes: 0 }, { kind: 'refused', ...refusal });
}

/** What to write next, or the refused events once every slice is settled. */
export function nextBisectStep(state: Bisection): BisectStep {
  const next = state.pending[0];
  return next === undefined ? { kind: 'done', refused: state.refused } : { kind: 'write', slice: next };
}

/** The plan after the first pending slice was written or refused. */
export function afterSlice(state: Bisection, outcome: SliceOutcome): Bisection {
  const [slice, ...rest] = state.pending;
  if (slice === undefined) return state;
  const writes = state.writes + 1;
  if (outcome.kind === 'written') return { pending: rest, refused: state.refused, writes };
  const { code, reason } = outcome;
  if (slice.end - slice.start <= 1) {
    return { pending: rest, refused: [...state.refused, { index: slice.start, code, reason }], writes };
  }
  return { pending: [...halves(slice), ...rest], refused: state.refused, writes };
}
