import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configDir, ensureUserToken, readUserToken, resolveUserToken, userTokenPath } from './user-token.ts';

test('configDir: DISTRAIN_CONFIG_DIR, else $XDG_CONFIG_HOME/distrain, else ~/.config/distrain', () => {
  assert.equal(configDir({ DISTRAIN_CONFIG_DIR: '/c', XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/c');
  assert.equal(configDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/x/distrain');
  assert.equal(configDir({ HOME: '/h' }), '/h/.config/distrain');
  assert.equal(userTokenPath({ HOME: '/h' }), '/h/.config/distrain/token');
});

test('ensureUserToken: created once with dir 0700 and file 0600, then reused; --token > env > file', () => {
  const root = mkdtempSync(join(tmpdir(), 'distrain-user-'));
  try {
    const env = { DISTRAIN_CONFIG_DIR: join(root, 'cfg') };
    assert.equal(readUserToken(env), undefined);
    assert.equal(resolveUserToken(undefined, env), undefined);
    const first = ensureUserToken(env);
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(join(root, 'cfg')).mode & 0o777, 0o700);
    assert.equal(statSync(first.path).mode & 0o777, 0o600);
    assert.deepEqual(ensureUserToken(env), first);
    // A token file someone made readable is tightened again.
    writeFileSync(first.path, 'hand-made\n', { mode: 0o644 });
    assert.equal(ensureUserToken(env).token, 'hand-made');
    assert.equal(statSync(first.path).mode & 0o777, 0o600);
    assert.equal(resolveUserToken(undefined, env), 'hand-made');
    assert.equal(resolveUserToken(undefined, { ...env, DISTRAIN_TOKEN: 'from-env' }), 'from-env');
    assert.equal(resolveUserToken('from-flag', { ...env, DISTRAIN_TOKEN: 'from-env' }), 'from-flag');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
