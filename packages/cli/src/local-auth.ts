import { randomBytes } from 'node:crypto';

/** What the local stack's services are started with to require the deployment token. */
export interface LocalAuth {
  /** The deployment token: users' and services' bearer token (job credentials derive from it). */
  token: string;
  /** Env of every service: the token itself (never on the command line, where `ps` shows it). */
  env: Record<string, string>;
}

/**
 * The local stack's auth: the token given (`distrain up`/`run` pass the user's token file's), else
 * a fresh random one for this stack only (tests, embedders).
 */
export function localAuth(token: string | undefined): LocalAuth {
  const t = token ?? randomBytes(32).toString('base64url');
  return { token: t, env: { DISTRAIN_AUTH_TOKEN: t } };
}
