/**
 * How `npm start` shows its processes' logs on a terminal. The processes write pino JSON (one
 * object a line), which is what a file or a log collector wants; a person at a terminal wants
 * warnings and errors, one line each, the errors standing out. So on a TTY the supervisor keeps
 * the JSON in each process's log file and prints only `warn` and above here, in this form:
 *
 *   12:03:04 WARN  api-0  producer buffer full  {"depth":50000}
 *
 * Lines that are not JSON (a crash's stack trace, console.error) are shown as they are.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, left out of the extra fields shown after the message. */
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'worker', 'v']);

const colour = (code: number, text: string, enabled: boolean) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
/** Control characters (other than tab) would let a logged value rewrite the terminal: escape them. */
const safe = (s: string) => s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export interface TerminalLogOptions {
  /** Lowest pino level shown (30 info, 40 warn). */
  readonly minLevel: number;
  readonly colours: boolean;
}

/** The terminal form of one output line of process `name`, or undefined to hide it. */
export function terminalLogLine(name: string, line: string, options: TerminalLogOptions): string | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  let parsed: Record<string, unknown> | undefined;
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
  }
  if (parsed === undefined || typeof parsed.level !== 'number') {
    return `${colour(2, '--:--:--', options.colours)} ${colour(33, 'OUT  ', options.colours)} ${name}  ${safe(trimmed)}`;
  }
  const level = parsed.level;
  if (level < options.minLevel) return undefined;
  const time = typeof parsed.time === 'number' ? new Date(parsed.time).toISOString().slice(11, 19) : '--:--:--';
  const label = (LEVELS[level] ?? String(level)).padEnd(5);
  const extra = Object.fromEntries(Object.entries(parsed).filter(([k]) => !OMIT.has(k)));
  const extraText = Object.keys(extra).length > 0 ? `  ${JSON.stringify(extra)}` : '';
  const levelColour = level >= 50 ? 31 : level >= 40 ? 33 : 36;
  const msg = typeof parsed.msg === 'string' ? parsed.msg : '';
  const text = `${colour(2, time, options.colours)} ${colour(levelColour, label, options.colours)} ${name}  ${safe(msg)}${colour(2, safe(extraText), options.colours)}`;
  return level >= 50 && options.colours ? `\x1b[1m${text}\x1b[0m` : text;
}
