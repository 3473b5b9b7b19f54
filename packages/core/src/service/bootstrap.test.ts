import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ValidationError } from '../errors.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logger.ts';
import { COMMON_SERVICE_FLAGS, intFlag, readFlags } from './bootstrap.ts';
import { readServiceSecurity } from './security-flags.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

test('readFlags: a flag beats the env, the first set env name beats later ones, then the default', () => {
  const spec = { port: { env: ['DISTRAIN_PS_PORT', 'DISTRAIN_PORT'], default: '0' }, host: { default: 'h' } };
  assert.deepEqual(readFlags(['--port', '1'], { DISTRAIN_PS_PORT: '2' }, spec), { port: '1', host: 'h' });
  assert.deepEqual(readFlags([], { DISTRAIN_PS_PORT: '2', DISTRAIN_PORT: '3' }, spec), {
    port: '2',
    host: 'h',
  });
  assert.deepEqual(readFlags([], { DISTRAIN_PORT: '3' }, spec), { port: '3', host: 'h' });
  assert.deepEqual(readFlags([], { DISTRAIN_PS_PORT: '' }, spec), { port: '0', host: 'h' });
});

test('readFlags: unknown flags and positional arguments are errors naming them', () => {
  assert.throws(
    () => readFlags(['--epochs', '3'], {}, COMMON_SERVICE_FLAGS),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /--epochs/);
      return true;
    },
  );
  assert.throws(() => readFlags(['extra'], {}, COMMON_SERVICE_FLAGS), ValidationError);
});

test('intFlag: integers in range pass, anything else names the flag and the range', () => {
  assert.equal(intFlag('7070', 'port', 0, 65_535), 7070);
  for (const bad of ['', '-1', '65536', '1.5', 'http', undefined]) {
    assert.throws(
      () => intFlag(bad, 'port', 0, 65_535),
      (e: unknown) => e instanceof ValidationError && e.field === '--port' && /0\.\.65535/.test(e.message),
    );
  }
});

test('a service given a bad flag exits 2 and names the flag on stderr', () => {
  for (const [role, args, pattern] of [
    ['data-loader', ['--port', 'x'], /data-loader: --port: must be an integer in 0\.\.65535/],
    ['data-loader', ['--epochs', '3'], /data-loader: argv: .*--epochs/],
    ['coordinator', ['--ps', '127.0.0.1:1'], /coordinator: --loader: is required/],
    ['parameter-server', ['--auth', 'maybe'], /parameter-server: --auth: must be token or none/],
  ] as const) {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', `${ROOT}services/${role}/src/main.ts`, ...args],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, DISTRAIN_AUTH_TOKEN: 'a-token' },
      },
    );
    assert.equal(r.status, 2, `${role} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

test('security flags: token from the file, else the env; none only when asked; TLS flags go together', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distrain-sec-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file\n');
    const base = { auth: 'token', 'tls-client-auth': 'false' } as Record<string, string | undefined>;
    const flags = (extra: Record<string, string>) =>
      ({ ...base, ...extra }) as Parameters<typeof readServiceSecurity>[0];
    const logger = silentLogger();
    const fromFile = readServiceSecurity(
      flags({ 'auth-token-file': file }),
      { DISTRAIN_AUTH_TOKEN: 'env' },
      logger,
    );
    assert.equal(fromFile.client.token, 'from-file');
    assert.equal(fromFile.authenticator.enabled, true);
    assert.equal(readServiceSecurity(flags({}), { DISTRAIN_AUTH_TOKEN: 'env' }, logger).client.token, 'env');
    assert.throws(
      () => readServiceSecurity(flags({}), {}, logger),
      /--auth-token-file: no deployment token.*--auth none/,
    );
    assert.throws(
      () => readServiceSecurity(flags({ 'auth-token-file': join(dir, 'missing') }), {}, logger),
      /--auth-token-file: cannot read/,
    );
    const none = readServiceSecurity(flags({ auth: 'none' }), { DISTRAIN_AUTH_TOKEN: 'env' }, logger);
    assert.equal(none.authenticator.enabled, false);
    assert.equal(none.client.token, undefined);
    assert.throws(
      () => readServiceSecurity(flags({ 'tls-cert': file }), { DISTRAIN_AUTH_TOKEN: 'env' }, logger),
      /--tls-key: TLS needs both/,
    );
    assert.throws(
      () => readServiceSecurity(flags({ 'tls-ca': file }), { DISTRAIN_AUTH_TOKEN: 'env' }, logger),
      /--tls-ca: cannot read .*not a PEM file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
