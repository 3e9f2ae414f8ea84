/**
 * Writes the published JSON Schema files (schemas/session-completed.v<N>.json) from the zod wire
 * schemas. `npm run schemas` after changing src/kernel/events/session-completed.ts; commit the result.
 * `--check` writes nothing and exits 1 when a file is missing, stale or no longer generated
 * (the unit tier runs the same comparison: test/unit/events/schemas.unit.test.ts).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderSchemaFiles, SCHEMA_DIR } from '../src/kernel/events/json-schema.ts';

const dir = resolve(import.meta.dir, '..', SCHEMA_DIR);
const check = process.argv.includes('--check');
const wanted = renderSchemaFiles();
const existing = (() => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
})();

const problems: string[] = [];
if (!check) mkdirSync(dir, { recursive: true });
for (const [file, text] of wanted) {
  const path = join(dir, file);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) problems.push(`${SCHEMA_DIR}/${file} is ${current === undefined ? 'missing' : 'stale'}`);
  else {
    writeFileSync(path, text);
    console.log(`wrote ${SCHEMA_DIR}/${file}`);
  }
}
for (const file of existing.filter((f) => !wanted.has(f))) {
  if (check) problems.push(`${SCHEMA_DIR}/${file} is no longer generated`);
  else {
    rmSync(join(dir, file));
    console.log(`removed ${SCHEMA_DIR}/${file}`);
  }
}
if (problems.length > 0) {
  console.error(`${problems.join('\n')}\nrun: npm run schemas`);
  process.exit(1);
}
console.log(check ? 'schemas are up to date' : `${wanted.size} schema files in ${SCHEMA_DIR}/`);
