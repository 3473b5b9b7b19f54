#!/usr/bin/env node
// `npm run build`: compiles packages/*/src and services/*/src to JavaScript (tsconfig.build.json),
// then puts each tree's output in the `dist` folder beside its `src` (same depth, so paths such as
// `../../../proto` resolve alike) and copies the JSON files modules read at run time. Packages
// expose `dist` through the `compiled` export condition: run with `node --conditions=compiled`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build');
rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

function copyJson(from, to) {
  for (const name of readdirSync(from)) {
    const p = join(from, name);
    if (statSync(p).isDirectory()) copyJson(p, join(to, name));
    else if (name.endsWith('.json')) cpSync(p, join(to, name));
  }
}

let trees = 0;
for (const group of ['packages', 'services']) {
  for (const name of readdirSync(join(out, group))) {
    const built = join(out, group, name, 'src');
    if (!existsSync(built)) continue;
    const dist = join(root, group, name, 'dist');
    rmSync(dist, { recursive: true, force: true });
    renameSync(built, dist);
    copyJson(join(root, group, name, 'src'), dist);
    trees++;
  }
}
rmSync(out, { recursive: true, force: true });
console.log(`built ${trees} packages and services into their dist/ folders`);
