/**
 * The KIP-848 client's validators compile at their first use (lazy-ajv.ts), and still validate:
 * a bad option is refused with the same message, a good one accepted, each schema compiled once.
 */
import { describe, expect, test } from 'bun:test';
import Ajv2020 from 'ajv/dist/2020.js';
import '../../../consumers/runtime/sources/lazy-ajv.ts';
import { Consumer } from '@platformatic/kafka';

describe('validators compiled at first use', () => {
  test('compile() defers the work: a schema that cannot compile fails at its first use, not before', () => {
    const ajv = new Ajv2020({ strict: true });
    const validate = ajv.compile({ type: 'object', notAKeyword: true });
    expect(typeof validate).toBe('function');
    expect(() => validate({})).toThrow(/unknown keyword/);
  });

  test('a deferred validator accepts, refuses and reports errors like a compiled one', () => {
    const ajv = new Ajv2020({ allErrors: true });
    const validate = ajv.compile({ type: 'object', properties: { groupId: { type: 'string' } }, required: ['groupId'] });
    expect(validate({ groupId: 'g' })).toBe(true);
    expect(validate.errors).toBeNull();
    expect(validate({ groupId: 5 })).toBe(false);
    expect(ajv.errorsText(validate.errors)).toContain('/groupId must be string');
    expect(validate({ groupId: 'again' })).toBe(true);
    expect(validate.errors).toBeNull();
  });

  test("the client still refuses bad options, naming the option", () => {
    expect(() => new Consumer({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], groupId: 5 as unknown as string })).toThrow('/options/groupId must be string');
  });
});
