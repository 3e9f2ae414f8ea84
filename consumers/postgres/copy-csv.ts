/**
 * Rows -> the CSV text `COPY ... FROM STDIN (FORMAT csv)` reads. Pure. An unquoted empty field
 * is NULL; everything that could hold a comma, quote or newline is quoted with quotes doubled.
 */
import type { SessionRow } from './projection.ts';

/** Column order of the staging table, shared by the COPY statement and the encoder. */
export const STAGING_COLUMNS = [
  'session_id',
  'event_id',
  'user_id',
  'started_at',
  'completed_at',
  'duration_ms',
  'score',
  'outcome',
  'attributes',
  'received_at',
] as const;

const NEEDS_QUOTES = /[",\r\n]|^$|^\s|\s$/;

export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(row: SessionRow): string {
  return [
    csvField(row.sessionId),
    csvField(row.eventId),
    csvField(row.userId),
    csvField(row.startedAt),
    csvField(row.completedAt),
    csvField(row.durationMs),
    csvField(row.score),
    csvField(row.outcome),
    csvField(JSON.stringify(row.attributes)),
    csvField(row.receivedAt),
  ].join(',') + '\n';
}

/** The CSV in chunks of about `chunkChars`, so a large batch streams without one huge string. */
export function* csvChunks(rows: readonly SessionRow[], chunkChars = 256 * 1024): Generator<string> {
  let chunk = '';
  for (const row of rows) {
    chunk += csvLine(row);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}
