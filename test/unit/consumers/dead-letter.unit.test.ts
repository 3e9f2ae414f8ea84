/**
 * Dead letters against a hostile producer: forged dlq-* headers are dropped when written, a
 * forged redrive origin is believed only when the ledger confirms it, and `npm run dlq` prints
 * no control character of the untrusted bytes.
 */
import { describe, expect, test } from 'bun:test';
import { DLQ_HEADERS, REDRIVE_HEADERS, keptSourceHeaders, originOf, parseDeadLetter, toDeadLetter, type LedgerEntry } from '../../../consumers/runtime/dead-letter.ts';
import { escapeControl, escapeControlInJson, formatDeadLetter } from '../../../scripts/dlq.ts';

const source = { topic: 'main', partition: 2, groupId: 'g' };
const failure = { reason: 'value is not JSON', reasonKind: 'not_json' as const };

describe('writing a dead letter', () => {
  test("the source's dlq-* headers are dropped, except redrive's bookkeeping; others kept", () => {
    const kept = keptSourceHeaders({
      'event-id': 'e1',
      'dlq-reason': 'forged',
      'DLQ-Source-Offset': '1',
      'dlq-consumer-group': 'forged',
      [REDRIVE_HEADERS.source]: 'main/0/5',
      [REDRIVE_HEADERS.from]: 'main.dlq/0/1',
    });
    expect(kept).toEqual({ 'event-id': 'e1', [REDRIVE_HEADERS.source]: 'main/0/5', [REDRIVE_HEADERS.from]: 'main.dlq/0/1' });
  });
  test('the written headers are ours, whatever the source claimed', () => {
    const dl = toDeadLetter(
      { key: null, value: Buffer.from('x'), offset: '7', timestamp: '0', headers: { 'dlq-reason': 'all fine', 'dlq-source-offset': '999' } },
      source,
      failure,
      new Date(0),
    );
    expect(String(dl.headers[DLQ_HEADERS.reason])).toBe('value is not JSON');
    expect(String(dl.headers[DLQ_HEADERS.sourceOffset])).toBe('7');
  });
});

describe('reading a dead letter: the redrive origin is trusted only when the ledger confirms it', () => {
  const redrivenTwice = (claimed: string, failedAt: { partition: number; offset: string }) =>
    parseDeadLetter(0, {
      key: null,
      value: null,
      offset: '3',
      timestamp: '0',
      headers: {
        [DLQ_HEADERS.sourceTopic]: 'main',
        [DLQ_HEADERS.sourcePartition]: String(failedAt.partition),
        [DLQ_HEADERS.sourceOffset]: failedAt.offset,
        [REDRIVE_HEADERS.source]: claimed,
      },
    });
  const ledger = new Map<string, LedgerEntry>([
    ['main/1/10', { origin: 'main/1/10', redrivenAt: 't', from: 'main.dlq/0/0', to: { topic: 'main', partition: 4, offset: '40' }, reason: 'r' }],
  ]);
  test('confirmed: the ledger says redrive published the message that failed again', () => {
    expect(originOf(redrivenTwice('main/1/10', { partition: 4, offset: '40' }), ledger)).toBe('main/1/10');
  });
  test('forged: the claimed origin was redriven, but to another position', () => {
    expect(originOf(redrivenTwice('main/1/10', { partition: 4, offset: '41' }), ledger)).toBe('main/4/41');
  });
  test('forged: an origin the ledger never heard of', () => {
    expect(originOf(redrivenTwice('main/9/9', { partition: 4, offset: '40' }), ledger)).toBe('main/4/40');
  });
});

describe('printing untrusted bytes', () => {
  const hostile = 'ok\u001b[2J\u001b]0;pwned\u0007\u009b31m\u202eevil\r\n';
  test('escapeControl leaves no control character', () => {
    const out = escapeControl(hostile);
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(out).toBe('ok\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\u202eevil\\u000d\\u000a');
  });
  test('escapeControlInJson keeps JSON valid and equal', () => {
    const json = JSON.stringify({ k: hostile }, null, 2);
    const out = escapeControlInJson(json);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(out)).toEqual({ k: hostile });
  });
  test('a listed dead letter with hostile key, headers and value prints no control character', () => {
    const d = parseDeadLetter(0, {
      key: Buffer.from(hostile),
      value: Buffer.from(hostile),
      offset: '1',
      timestamp: '0',
      headers: { [DLQ_HEADERS.reason]: hostile, [DLQ_HEADERS.reasonKind]: hostile, [DLQ_HEADERS.consumerGroup]: hostile, [DLQ_HEADERS.sourceTopic]: hostile, [REDRIVE_HEADERS.source]: hostile },
    });
    const text = formatDeadLetter({ ...d, origin: d.source }, new Map());
    expect(text.replaceAll('\n', '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('the ledger does not confirm it');
  });
});
