import { describe, expect, test } from 'bun:test';
import { mayRaisePriorityTo } from '../../../src/kernel/start-priority.ts';

const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax nice priority         ${soft}                    ${soft}\n`;
const status = (capEff: string) => `Name:\tbun\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`;

describe('mayRaisePriorityTo', () => {
  test('CAP_SYS_NICE (bit 23) allows any priority', () => {
    expect(mayRaisePriorityTo(0, status('000001fffeffffff'), limits('0'))).toBe(true);
    expect(mayRaisePriorityTo(-5, status('0000000000800000'), limits('0'))).toBe(true);
  });

  test('without it, RLIMIT_NICE decides: soft limit r allows nice values down to 20 - r', () => {
    const noCap = status('00000000a80425fb'); // docker's default set: no CAP_SYS_NICE
    expect(mayRaisePriorityTo(0, noCap, limits('0'))).toBe(false);
    expect(mayRaisePriorityTo(0, noCap, limits('20'))).toBe(true);
    expect(mayRaisePriorityTo(0, noCap, limits('19'))).toBe(false);
    expect(mayRaisePriorityTo(10, noCap, limits('10'))).toBe(true);
    expect(mayRaisePriorityTo(0, noCap, limits('unlimited'))).toBe(true);
  });

  test('unreadable files mean no', () => {
    expect(mayRaisePriorityTo(0, '', '')).toBe(false);
  });
});
