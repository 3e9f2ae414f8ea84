import { describe, expect, test } from 'bun:test';
import { instantMs, isoOf } from '../../../src/sessions/instants.ts';

describe('instantMs and isoOf remember one value and answer exactly as Date does', () => {
  test('instantMs: repeats, alternation, offsets and invalid text', () => {
    const texts = ['2026-11-28T11:00:00Z', '2026-11-28T11:00:00Z', '2026-11-28T12:30:00+01:00', '2026-11-28T11:00:00Z', 'not a date', 'not a date', '', '1970-01-01T00:00:00.000Z'];
    for (const t of texts) expect(Object.is(instantMs(t), Date.parse(t))).toBe(true);
  });
  test('isoOf: repeats and alternation; an invalid time throws as toISOString does and is not remembered', () => {
    for (const ms of [0, 0, 1_764_331_200_123, 1_764_331_200_123, 1_764_331_200_124, 0]) expect(isoOf(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoOf(Number.NaN)).toThrow(RangeError);
    expect(() => isoOf(Number.NaN)).toThrow(RangeError);
    expect(isoOf(5)).toBe('1970-01-01T00:00:00.005Z');
  });
});
