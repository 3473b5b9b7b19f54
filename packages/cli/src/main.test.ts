/**
 * The CLI's argument handling, run as a user runs it (the shipped bin): per-command options,
 * unknown options rejected with the option named, generated help, and `--help` without tfjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = `${ROOT}packages/cli/bin/distrain.js`;
// Fails any @tensorflow import: proves a command never loads TensorFlow.js.
const NO_TFJS = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';` +
    `register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, next) { if (s.startsWith('@tensorflow/')) throw new Error('tfjs loaded: ' + s); return next(s, c); }"));`,
)}`;

function cli(
  args: string[],
  nodeArgs: string[] = [],
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DISTRAIN_COORDINATOR: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an option of another command is an error naming it (exit 2)', () => {
  const r = cli(['list', '--epochs', '3']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--epochs'/);
  assert.match(r.stderr, /Usage: distrain list/);
});

test('a missing argument and an unknown command are usage errors', () => {
  const get = cli(['get']);
  assert.equal(get.code, 2);
  assert.match(get.stderr, /missing required argument 'ID'/);
  const bogus = cli(['bogus']);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /unknown command 'bogus'/);
});

test('help is generated per command and lists every command', () => {
  const top = cli(['--help']);
  assert.equal(top.code, 0);
  for (const c of ['run', 'up', 'submit', 'list', 'get', 'watch', 'cancel', 'predictions', 'export'])
    assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'), c);
  const submit = cli(['submit', '--help']);
  assert.equal(submit.code, 0);
  for (const o of [
    '--trainers',
    '--epochs',
    '--backend',
    '--seed',
    '--watch',
    '--json',
    '--coordinator',
    '--token',
  ])
    assert.ok(submit.stdout.includes(o), o);
  assert.ok(!cli(['list', '--help']).stdout.includes('--epochs'));
});

test('--help and a client command never load TensorFlow.js', () => {
  const help = cli(['--help'], ['--import', NO_TFJS]);
  assert.equal(help.code, 0, help.stderr);
  // Nothing listens on port 1: the client command fails with UNAVAILABLE (1), not on an import.
  const list = cli(['list', '--coordinator', '127.0.0.1:1'], ['--import', NO_TFJS]);
  assert.equal(list.code, 1);
  assert.match(list.stderr, /UNAVAILABLE 14/);
  assert.doesNotMatch(list.stderr, /tfjs loaded/);
});

test('the spec check still runs for submit: bad override values name the flag', () => {
  const r = cli(['submit', 'examples/mnist-mlp.yaml', '--backend', 'foo', '--coordinator', '127.0.0.1:1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--backend: must be one of auto, tensorflow, wasm, cpu/);
  const e = cli(['submit', 'examples/mnist-mlp.yaml', '--epochs', '-1', '--coordinator', '127.0.0.1:1']);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /--epochs: must be a non-negative integer/);
});
