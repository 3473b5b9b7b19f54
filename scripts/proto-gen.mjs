#!/usr/bin/env node
// Regenerates the TypeScript types of proto/ with proto-loader-gen-types, using the same options as
// the runtime loader (packages/core/src/proto-options.json). `--check` fails when the checked-in
// files differ from a fresh generation (CI drift check).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, cpSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'packages/core/src/generated');
const options = JSON.parse(readFileSync(join(root, 'packages/core/src/proto-options.json'), 'utf8'));
const protos = readdirSync(join(root, 'proto/distrain/v1'))
  .filter((f) => f.endsWith('.proto'))
  .sort()
  .map((f) => `distrain/v1/${f}`);

const tmp = mkdtempSync(join(tmpdir(), 'distrain-proto-'));
const args = [
  '--longs', options.longs, '--enums', options.enums,
  ...(options.defaults ? ['--defaults'] : []), ...(options.oneofs ? ['--oneofs'] : []),
  ...(options.keepCase ? ['--keepCase'] : []),
  '--grpcLib', '@grpc/grpc-js', '--importFileExtension', '.ts', '--includeComments',
  '-I', 'proto', '-O', tmp, ...protos,
];
execFileSync(join(root, 'node_modules/.bin/proto-loader-gen-types'), args, { stdio: 'inherit', cwd: root });

function files(dir) {
  const result = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else result.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  try { walk(dir); } catch { /* missing folder: empty */ }
  return result;
}

if (process.argv.includes('--check')) {
  const fresh = files(tmp);
  const current = files(out);
  const drift = [...new Set([...fresh.keys(), ...current.keys()])].filter((k) => fresh.get(k) !== current.get(k));
  rmSync(tmp, { recursive: true, force: true });
  if (drift.length > 0) {
    console.error(`generated proto types are stale (${drift.join(', ')}): run npm run proto:gen`);
    process.exit(1);
  }
  console.log(`proto types up to date (${fresh.size} files)`);
} else {
  rmSync(out, { recursive: true, force: true });
  cpSync(tmp, out, { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  console.log(`generated ${files(out).size} files in ${relative(root, out)}`);
}
