import { readFileSync } from 'node:fs';
import { ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { Authenticator } from '../auth/token.ts';
import { readPemFile } from '../auth/security.ts';
import type { ClientSecurity, ServerTls } from '../auth/security.ts';

/** The security flags every long-running service takes (part of the common flags). */
export const SECURITY_FLAGS = {
  auth: {
    env: 'DISTRAIN_AUTH',
    default: 'token',
    help: 'token|none: require the deployment token on every call (none: accept anyone; logged)',
  },
  'auth-token-file': {
    env: 'DISTRAIN_AUTH_TOKEN_FILE',
    help: 'file holding the deployment token (else env DISTRAIN_AUTH_TOKEN)',
  },
  'tls-cert': { env: 'DISTRAIN_TLS_CERT', help: 'TLS: this service certificate (PEM), with --tls-key' },
  'tls-key': { env: 'DISTRAIN_TLS_KEY', help: 'TLS: this service private key (PEM)' },
  'tls-ca': {
    env: 'DISTRAIN_TLS_CA',
    help: 'TLS: CA (PEM) of the other services (and of clients with --tls-client-auth)',
  },
  'tls-client-auth': {
    env: 'DISTRAIN_TLS_CLIENT_AUTH',
    default: 'false',
    help: 'true|false: mutual TLS (clients need a certificate signed by --tls-ca)',
  },
} as const;

/** Env variable carrying the deployment token itself (the file flag wins). */
export const AUTH_TOKEN_ENV = 'DISTRAIN_AUTH_TOKEN';

/** What a service's security flags resolve to. */
export interface ServiceSecurity {
  /** Checks the calls this service serves. */
  authenticator: Authenticator;
  /** Server TLS, when --tls-cert/--tls-key are set. */
  tls?: ServerTls;
  /** What this service's own clients (to other services) send and trust. */
  client: ClientSecurity;
}

type SecurityFlag = keyof typeof SECURITY_FLAGS;

/** Resolves the security flags: a missing token without `--auth none` is a ValidationError naming the fix. */
export function readServiceSecurity(
  flags: Record<SecurityFlag, string | undefined>,
  env: Record<string, string | undefined>,
  logger: Logger,
): ServiceSecurity {
  const mode = flags.auth ?? 'token';
  if (mode !== 'token' && mode !== 'none')
    throw new ValidationError('--auth', `must be token or none, got "${mode}"`);
  let token: string | undefined;
  if (mode === 'token') {
    const file = flags['auth-token-file'];
    if (file !== undefined && file !== '') {
      try {
        token = readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new ValidationError('--auth-token-file', `cannot read ${file}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (token === '') throw new ValidationError('--auth-token-file', `${file} is empty`);
    } else if (env[AUTH_TOKEN_ENV]) {
      token = (env[AUTH_TOKEN_ENV] as string).trim();
    } else {
      throw new ValidationError(
        '--auth-token-file',
        `no deployment token: set --auth-token-file FILE (env DISTRAIN_AUTH_TOKEN_FILE) or env ${AUTH_TOKEN_ENV}, or pass --auth none to accept unauthenticated calls`,
      );
    }
    if (/\s/.test(token))
      throw new ValidationError('--auth-token-file', 'the token must be one word (no spaces)');
  } else {
    logger.warn(
      '--auth none: this service accepts every call without a credential; anyone who can reach its port can read, change or cancel jobs',
    );
  }
  const certFile = flags['tls-cert'];
  const keyFile = flags['tls-key'];
  const caFile = flags['tls-ca'];
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ValidationError(
      certFile === undefined ? '--tls-cert' : '--tls-key',
      'TLS needs both --tls-cert and --tls-key',
    );
  const clientAuth = flags['tls-client-auth'] ?? 'false';
  if (clientAuth !== 'true' && clientAuth !== 'false')
    throw new ValidationError('--tls-client-auth', `must be true or false, got "${clientAuth}"`);
  const ca = caFile ? readPemFile('--tls-ca', caFile) : undefined;
  let tls: ServerTls | undefined;
  const client: ClientSecurity = token === undefined ? {} : { token };
  if (certFile !== undefined && keyFile !== undefined) {
    const cert = readPemFile('--tls-cert', certFile);
    const key = readPemFile('--tls-key', keyFile);
    tls = { cert, key, ...(ca ? { ca } : {}), clientAuth: clientAuth === 'true' };
    // This service's calls to the others: TLS trusting the CA, with its own certificate under mTLS.
    client.tls = { ...(ca ? { ca } : {}), ...(clientAuth === 'true' ? { cert, key } : {}) };
  } else if (clientAuth === 'true') {
    throw new ValidationError('--tls-client-auth', 'needs --tls-cert and --tls-key (and --tls-ca)');
  } else if (ca) {
    client.tls = { ca };
  }
  return { authenticator: new Authenticator(token), ...(tls ? { tls } : {}), client };
}
