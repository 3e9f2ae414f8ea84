/**
 * Imports point one way. The layers, from the bottom:
 *
 *   src/kernel/   events, errors, config, logging/metrics, client and pool factories, table
 *                 names, read-model rows: what the API and the consumers share. Imports only itself.
 *   src/http/     the HTTP edge (contract macros, access, errors, docs) that the feature plugins
 *                 use; it never imports a feature (sessions/, reads/, analytics/): app.ts gets them
 *                 as plugins, and /openapi.json is generated from the routes they declare.
 *   src/          the API (feature plugins, HTTP edge, write-path producer) on top of the kernel.
 *   consumers/    the read side, on top of the kernel; never the API's code.
 *   stack/        the native stack manager, on the kernel's config only.
 *   scripts/lib/  what the commands, the benchmark and the fault harness share: one home, which
 *                 reaches into none of them.
 *   scripts/, bench/   commands; each may use scripts/lib/, never the other or the tests.
 *   test/         may import anything.
 *
 * The rules are data (RULES), checked over every TypeScript file in the repository, so a new
 * import that crosses a layer the wrong way fails here with the file, the import and the rule.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../../../stack/paths.ts';

interface Rule {
  /** Files the rule applies to (path prefix from the repository root). */
  readonly from: string;
  /** Prefixes the files may import from (project files only; packages are not checked). */
  readonly may: readonly string[];
  /** Prefixes excluded from `may` even when a broader prefix allows them. */
  readonly mayNot?: readonly string[];
}

/** First matching `from` wins, so the more specific prefixes come first. */
const RULES: readonly Rule[] = [
  { from: 'src/kernel/', may: ['src/kernel/'] },
  { from: 'src/http/', may: ['src/http/', 'src/kernel/', 'src/kafka/'] },
  { from: 'src/', may: ['src/'] },
  { from: 'consumers/', may: ['consumers/', 'src/kernel/'] },
  { from: 'stack/', may: ['stack/', 'src/kernel/'] },
  { from: 'scripts/lib/', may: ['scripts/lib/', 'src/', 'consumers/', 'stack/'] },
  { from: 'scripts/', may: ['scripts/', 'src/', 'consumers/', 'stack/'] },
  { from: 'bench/', may: ['bench/', 'scripts/lib/', 'src/', 'consumers/', 'stack/'] },
  { from: 'examples/', may: ['examples/'] },
  { from: 'test/', may: [''] },
];

const IMPORT = /(?:^|[\s;])(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** The relative specifiers a source text imports (static, re-export, side-effect and dynamic). */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec !== undefined && spec.startsWith('.')) out.push(spec);
  }
  return out;
}

export function ruleFor(file: string): Rule | undefined {
  return RULES.find((r) => file.startsWith(r.from));
}

export function allowed(rule: Rule, target: string): boolean {
  if (rule.mayNot?.some((p) => target.startsWith(p))) return false;
  return rule.may.some((p) => target.startsWith(p));
}

function projectFiles(): string[] {
  const files: string[] = [];
  for (const dir of ['src', 'consumers', 'stack', 'scripts', 'bench', 'test', 'examples']) {
    for (const f of new Bun.Glob(`${dir}/**/*.{ts,mts,mjs,js}`).scanSync({ cwd: REPO_ROOT })) {
      if (!f.includes('node_modules') && !f.endsWith('.d.ts')) files.push(f);
    }
  }
  return files.sort();
}

describe('layers', () => {
  test('the import scanner sees static, type-only, re-export, side-effect and dynamic imports', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "import './side.ts';",
      "const d = await import('./d.ts');",
      "import pg from 'pg';",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['./a.ts', '../b.ts', './c.ts', './side.ts', './d.ts']);
  });

  test('the rules refuse what they are meant to refuse', () => {
    const kernel = ruleFor('src/kernel/config.ts');
    const api = ruleFor('src/sessions/index.ts');
    const consumer = ruleFor('consumers/runtime/consumer.ts');
    const lib = ruleFor('scripts/lib/migrate.ts');
    const bench = ruleFor('bench/run.ts');
    if (!kernel || !api || !consumer || !lib || !bench) throw new Error('a layer has no rule');
    expect(allowed(kernel, 'src/http/auth.ts')).toBe(false);
    const edge = ruleFor('src/http/openapi.ts');
    if (!edge) throw new Error('the HTTP edge has no rule');
    expect(allowed(edge, 'src/sessions/model.ts')).toBe(false);
    expect(allowed(edge, 'src/kernel/errors.ts')).toBe(true);
    expect(allowed(api, 'src/http/body.ts')).toBe(true);
    expect(allowed(api, 'consumers/postgres/main.ts')).toBe(false);
    expect(allowed(consumer, 'src/reads/service.ts')).toBe(false);
    expect(allowed(consumer, 'src/kernel/config.ts')).toBe(true);
    expect(allowed(lib, 'bench/lib/oha.ts')).toBe(false);
    expect(allowed(lib, 'test/support/process.ts')).toBe(false);
    expect(allowed(bench, 'scripts/system.ts')).toBe(false);
    expect(allowed(bench, 'scripts/lib/migrate.ts')).toBe(true);
  });

  test('every import in the repository points down (or sideways within its layer)', () => {
    const files = projectFiles();
    expect(files.length).toBeGreaterThan(100);
    const wrong: string[] = [];
    for (const file of files) {
      const rule = ruleFor(file);
      if (rule === undefined) {
        wrong.push(`${file}: in no layer (add a rule)`);
        continue;
      }
      for (const spec of importSpecifiers(readFileSync(resolve(REPO_ROOT, file), 'utf8'))) {
        const target = relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec));
        if (!allowed(rule, target)) wrong.push(`${file} imports ${target} (rule for ${rule.from}: may import ${rule.may.join(', ')})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
