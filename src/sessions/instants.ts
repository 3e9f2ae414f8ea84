/**
 * `Date.parse` and `toISOString` with a memory of one: the same value again costs a string
 * comparison instead of a parse or a format.
 *
 * Why: a completion parses `completedAt` twice (the schema's `completedAt >= startedAt`, then
 * the future-skew check) and formats `receivedAt` from a clock in milliseconds that thousands of
 * requests a second share. Parsing an instant string JavaScriptCore has not just seen costs
 * ~0.5 µs, as does formatting one: together 2-3 % of the API's CPU at its closed-loop maximum.
 * Both functions are pure, so remembering the last answer changes no result.
 */
let parsedText: string | undefined;
let parsedMs = Number.NaN;

/** `Date.parse(text)`, remembered for the last text. */
export function instantMs(text: string): number {
  if (text !== parsedText) {
    parsedMs = Date.parse(text);
    parsedText = text;
  }
  return parsedMs;
}

let formattedMs = Number.NaN;
let formattedText = '';

/** `new Date(ms).toISOString()`, remembered for the last ms (throws for an invalid time, as it does). */
export function isoOf(ms: number): string {
  if (ms !== formattedMs) {
    formattedText = new Date(ms).toISOString();
    formattedMs = ms;
  }
  return formattedText;
}
