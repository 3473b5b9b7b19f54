/**
 * compile.ts: the local stack's services as JavaScript of the current sources. A throwaway tree with
 * a package and a service (relative `.ts` imports, a type-only import, a JSON file read beside the
 * module) is transpiled, run, left alone while nothing changes, redone when a source changes or an
 * output is missing, and refused with the file named when a source does not parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { compileServices, distPath, rewriteImports } from './compile.ts';

test('relative .ts specifiers become .js; packages, other strings and template literals stay', () => {
  const src = [
    `import { a } from './a.ts';`,
    `import type { B } from "../b/index.ts";`,
    `export * from './c.ts';`,
    `import './side-effect.ts';`,
    `const m = await import('./lazy.ts');`,
    `import x from 'some-package/file.ts';`,
    `const name = 'notes.ts';`,
    'const entry = `services/${role}/src/main.ts`;',
    `const s = "see './a.ts'";`,
  ].join('\n');
  const out = rewriteImports(src).split('\n');
  assert.equal(out[0], `import { a } from './a.js';`);
  assert.equal(out[1], `import type { B } from "../b/index.js";`);
  assert.equal(out[2], `export * from './c.js';`);
  assert.equal(out[3], `import './side-effect.js';`);
  assert.equal(out[4], `const m = await import('./lazy.js');`);
  assert.equal(out[5], `import x from 'some-package/file.ts';`);
  assert.equal(out[6], `const name = 'notes.ts';`);
  assert.equal(out[7], 'const entry = `services/${role}/src/main.ts`;');
  assert.equal(out[8], `const s = "see './a.ts'";`);
});

test('each src tree goes to the dist beside it', () => {
  assert.equal(distPath('packages/core/src/ps/wire.ts'), 'packages/core/dist/ps/wire.js');
  assert.equal(distPath('services/trainer/src/main.ts'), 'services/trainer/dist/main.js');
  assert.equal(distPath('packages/core/src/generated/x.json'), 'packages/core/dist/generated/x.json');
});

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'distrain-compile-'));
  const put = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  put('package.json', '{ "type": "module" }');
  put('packages/lib/src/index.ts', `export const lib = 'the lib';\n`);
  put('services/app/src/math/twice.ts', `export function twice(n: number): number { return 2 * n; }\n`);
  put('services/app/src/math/types.ts', `export const enum Unused { A }\n`);
  put('services/app/src/math/twice.test.ts', `throw new Error('tests are not compiled');\n`);
  put('services/app/src/table.json', '{ "k": 21 }');
  put(
    'services/app/src/main.ts',
    [
      `import { readFileSync } from 'node:fs';`,
      `import type { Unused } from './math/types.ts';`,
      `import { twice } from './math/twice.ts';`,
      `const table = JSON.parse(readFileSync(new URL('./table.json', import.meta.url), 'utf8')) as { k: number };`,
      `export const answer: number = twice(table.k);`,
      `export type { Unused };`,
    ].join('\n'),
  );
  return root;
}

/** The service's answer, run in a fresh Node (as the local stack runs it). */
function answer(root: string): number {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { answer } from ${JSON.stringify(pathToFileURL(join(root, 'services/app/dist/main.js')).href)}; console.log(answer);`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('a tree is transpiled once, runs as JavaScript, and again only when a source changes', async () => {
  const root = tree();
  try {
    const first = await compileServices(root);
    assert.equal(first.ok, true, first.reason);
    assert.equal(first.transpiled, 4); // the test file and the JSON are not among them
    assert.equal(answer(root), 42);
    assert.match(readFileSync(join(root, 'packages/lib/dist/index.js'), 'utf8'), /the lib/);
    assert.throws(() => readFileSync(join(root, 'services/app/dist/math/twice.test.js')), /ENOENT/);

    const again = await compileServices(root);
    assert.deepEqual([again.ok, again.transpiled], [true, 0]);

    // Same size, new content and mtime: the stamp must see it.
    const twice = join(root, 'services/app/src/math/twice.ts');
    writeFileSync(twice, `export function twice(n: number): number { return 3 * n; }\n`);
    utimesSync(twice, new Date(), new Date(Date.now() + 5_000));
    const changed = await compileServices(root);
    assert.deepEqual([changed.ok, changed.transpiled], [true, 4]);
    assert.equal(answer(root), 63);

    unlinkSync(join(root, 'services/app/dist/main.js'));
    const missing = await compileServices(root);
    assert.deepEqual([missing.ok, missing.transpiled], [true, 4]);
    assert.equal(answer(root), 63);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a source that does not parse: not ok, the file named, nothing thrown', async () => {
  const root = tree();
  try {
    writeFileSync(join(root, 'services/app/src/main.ts'), 'export const = ;\n');
    const r = await compileServices(root);
    assert.equal(r.ok, false);
    assert.match(r.reason ?? '', /services\/app\/src\/main\.ts/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
