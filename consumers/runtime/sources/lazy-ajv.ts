/**
 * @platformatic/kafka compiles its ~40 option validators (ajv, JSON Schema 2020) when it loads:
 * ~0.8 CPU-s, twice what a classic consumer spends from spawn to ready. On two cores a consumer
 * group that grows by a member pays it while the others work (issue 13), and most validators are
 * never used (admin, producer, schema registry). Imported for its side effect before the client:
 * compilation of each schema then happens at its first use, once. The library's schemas are
 * self-contained (no $id or $ref between them), so compiling one later changes nothing else.
 */
import Ajv2020Module from 'ajv/dist/2020.js';

type Validate = ((data: unknown, ...rest: unknown[]) => boolean) & { errors?: unknown; schema?: unknown };
type Compile = (this: object, schema: unknown, meta?: boolean) => Validate;

const Ajv2020 = (Ajv2020Module as unknown as { default?: { prototype: { compile: Compile } } }).default ?? (Ajv2020Module as unknown as { prototype: { compile: Compile } });
const marker = Symbol.for('sessions.lazy-ajv');
const proto = Ajv2020.prototype as { compile: Compile; [marker]?: true };

if (!proto[marker]) {
  const compileNow = proto.compile;
  proto.compile = function compileAtFirstUse(this: object, schema: unknown, meta?: boolean): Validate {
    let compiled: Validate | undefined;
    const validate: Validate = function (this: unknown, data: unknown, ...rest: unknown[]) {
      compiled ??= compileNow.call(ajv, schema, meta);
      const valid = compiled.call(this, data, ...rest);
      validate.errors = compiled.errors;
      return valid;
    };
    const ajv = this;
    validate.errors = null;
    validate.schema = schema;
    return validate;
  };
  proto[marker] = true;
}

export const ajvCompilesAtFirstUse = true;
