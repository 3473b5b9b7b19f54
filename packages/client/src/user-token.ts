import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** The environment the token helpers read (pass `process.env`). */
export type Env = Record<string, string | undefined>;

/**
 * The user's distrain config directory: `DISTRAIN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/distrain`,
 * else `~/.config/distrain`.
 */
export function configDir(env: Env): string {
  if (env['DISTRAIN_CONFIG_DIR']) return env['DISTRAIN_CONFIG_DIR'];
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'distrain');
}

/** Where `distrain up` and `run` keep the local deployment token: `<configDir>/token`. */
export function userTokenPath(env: Env): string {
  return join(configDir(env), 'token');
}

/** The token in the user's token file, or undefined when there is none. */
export function readUserToken(env: Env): string | undefined {
  try {
    const token = readFileSync(userTokenPath(env), 'utf8').trim();
    return token === '' ? undefined : token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The user's token, created on first use: 32 random bytes (base64url) in `<configDir>/token`, the
 * directory mode 0700 and the file 0600. An existing token is kept, so several `distrain up` and
 * `run` on one machine share it (delete the file to rotate it). Returns the token and its path.
 */
export function ensureUserToken(env: Env): { token: string; path: string } {
  const path = userTokenPath(env);
  mkdirSync(configDir(env), { recursive: true, mode: 0o700 });
  chmodSync(configDir(env), 0o700);
  const existing = readUserToken(env);
  if (existing !== undefined) {
    chmodSync(path, 0o600);
    return { token: existing, path };
  }
  const token = randomBytes(32).toString('base64url');
  try {
    // 'wx': a concurrent first start wins once; the loser reads the winner's token.
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = readUserToken(env);
    if (winner === undefined) throw err;
    return { token: winner, path };
  }
  return { token, path };
}

/**
 * The token a client sends: `flag` (`--token`), else `DISTRAIN_TOKEN`, else the user's token file
 * (what `distrain up` wrote); undefined when none of them is set.
 */
export function resolveUserToken(flag: string | undefined, env: Env): string | undefined {
  if (flag) return flag;
  if (env['DISTRAIN_TOKEN']) return env['DISTRAIN_TOKEN'];
  return readUserToken(env);
}
