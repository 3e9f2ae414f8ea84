import { expect, test } from 'bun:test';
import { readJsonBody } from '../../../src/http/body.ts';

const post = (bytes: Uint8Array) =>
  new Request('http://localhost/x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
const codeOf = async (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);

test('the shared UTF-8 decoder: invalid UTF-8 is a 400, and the next body decodes as if it were the first', async () => {
  const valid = new TextEncoder().encode('{"a":"é€"}');
  expect(await readJsonBody(post(valid), 1024)).toEqual({ a: 'é€' });
  expect(await codeOf(readJsonBody(post(new Uint8Array([0x7b, 0x22, 0xc3, 0x22, 0x7d])), 1024))).toBe('MALFORMED_JSON: The request body is not valid UTF-8.');
  // a truncated sequence at the very end must not leak into the next decode
  expect(await codeOf(readJsonBody(post(new Uint8Array([0x7b, 0x7d, 0xe2, 0x82])), 1024))).toBe('MALFORMED_JSON: The request body is not valid UTF-8.');
  expect(await readJsonBody(post(valid), 1024)).toEqual({ a: 'é€' });
});
