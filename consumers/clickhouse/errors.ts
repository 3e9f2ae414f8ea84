/**
 * Which ClickHouse insert errors no retry can fix. Pure.
 *
 * 18.16 errors reach @clickhouse/client as a plain Error whose message holds
 * `Code: N, e.displayText() = DB::Exception: …` (the client cannot parse that format); a current
 * server's come as a ClickHouseError with `code` "N". Both are read.
 *
 * Refused for good (the data is at fault): the codes of a value the server cannot parse, convert
 * or hold, a CHECK constraint (current versions), `throwIf` in a materialized view, and "too many
 * partitions for a single INSERT block": that one carries the code of "too many parts" (252), which
 * is transient (merges catch up), so the message decides. A whole batch refused for too many
 * partitions is split by the bisection until each slice fits; no event is dead-lettered for it.
 * Everything else is retried: network errors, timeouts, too many parts, a read-only replica,
 * memory limits, and schema errors (an unknown table or column fails every batch alike: an
 * operator's fix, not a reason to dead-letter the stream).
 */
export type ClickHouseVerdict = { readonly kind: 'transient' } | { readonly kind: 'rejected'; readonly code: string; readonly message: string };

const REJECTED_CODES = new Map<number, string>([
  [6, 'CANNOT_PARSE_TEXT'],
  [25, 'CANNOT_PARSE_ESCAPE_SEQUENCE'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [153, 'ILLEGAL_DIVISION'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  [349, 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
  [376, 'CANNOT_PARSE_UUID'],
  [395, 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO'],
  [407, 'DECIMAL_OVERFLOW'],
  [469, 'VIOLATED_CONSTRAINT'],
]);
export const CLICKHOUSE_REJECTED_CODES: ReadonlySet<number> = new Set(REJECTED_CODES.keys());

const TOO_MANY_PARTITIONS = /too many partitions for (a )?single insert block/i;
const CODE_IN_MESSAGE = /Code: (\d+)/;

function codeOf(error: Error): number | undefined {
  const field = (error as { code?: unknown }).code;
  if (typeof field === 'string' && /^\d+$/.test(field)) return Number(field);
  if (typeof field === 'number') return field;
  const match = CODE_IN_MESSAGE.exec(error.message);
  return match ? Number(match[1]) : undefined;
}

/** The store's words without 18.16's `e.what()` tail. */
const cleanMessage = (message: string): string => message.replace(/, e\.what\(\) = DB::Exception\s*$/, '').trim();

export function classifyClickHouseError(error: unknown): ClickHouseVerdict {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = codeOf(e);
    if (TOO_MANY_PARTITIONS.test(e.message)) return { kind: 'rejected', code: 'clickhouse-too-many-partitions', message: cleanMessage(e.message) };
    if (code !== undefined) {
      return CLICKHOUSE_REJECTED_CODES.has(code) ? { kind: 'rejected', code: `clickhouse-${code}`, message: cleanMessage(e.message) } : { kind: 'transient' };
    }
  }
  return { kind: 'transient' };
}
