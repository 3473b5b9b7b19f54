import { readFileSync } from 'node:fs';
import { ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ChannelCredentials, Interceptor } from '@grpc/grpc-js';
import { ValidationError } from '../errors.ts';
import { bearerInterceptor } from './interceptors.ts';

/** PEM text or bytes. */
export type Pem = string | Buffer;

/** TLS material of a client: the CA that signed the servers, and a client certificate for mutual TLS. */
export interface ClientTls {
  /** CA certificate(s) of the servers. @default the system roots */
  ca?: Pem;
  /** Client certificate (mutual TLS), with `key`. */
  cert?: Pem;
  /** Client private key (mutual TLS), with `cert`. */
  key?: Pem;
}

/** How a process's gRPC clients identify themselves and check the servers. */
export interface ClientSecurity {
  /** Sent as `authorization: Bearer <token>` on every call. @default none */
  token?: string;
  /** TLS instead of plaintext. @default plaintext */
  tls?: ClientTls;
}

/** TLS material of a server. */
export interface ServerTls {
  cert: Pem;
  key: Pem;
  /** CA that signed the clients' certificates (mutual TLS). */
  ca?: Pem;
  /** Require and verify a client certificate signed by `ca` (mutual TLS). @default false */
  clientAuth?: boolean;
}

let processDefault: ClientSecurity = {};

/**
 * Sets what every client this process makes without its own {@link ClientSecurity} uses: the one
 * identity of a process (a service's deployment token, a worker's job credential), set once by the
 * bootstrap (`runService`, `runWorker`) from its flags or WorkerConfig.
 */
export function setDefaultClientSecurity(security: ClientSecurity): void {
  processDefault = Object.freeze({ ...security });
}

/** The process's default {@link ClientSecurity} (empty: plaintext, no token). */
export function defaultClientSecurity(): ClientSecurity {
  return processDefault;
}

const buf = (p: Pem | undefined): Buffer | null =>
  p === undefined ? null : Buffer.isBuffer(p) ? p : Buffer.from(p);

/** Channel credentials for `security` (plaintext without TLS). */
export function channelCredentials(security: ClientSecurity = processDefault): ChannelCredentials {
  const tls = security.tls;
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(buf(tls.ca), buf(tls.key), buf(tls.cert));
}

/** The client interceptors of `security`: the bearer token, when there is one. */
export function clientInterceptors(security: ClientSecurity = processDefault): Interceptor[] {
  return security.token ? [bearerInterceptor(security.token)] : [];
}

/** Server credentials: TLS (mutual with `clientAuth`) or plaintext. */
export function serverCredentials(tls: ServerTls | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  if (tls.clientAuth && tls.ca === undefined)
    throw new ValidationError(
      '--tls-client-auth',
      'needs --tls-ca: the CA that signed the client certificates',
    );
  return ServerCredentials.createSsl(
    buf(tls.ca),
    [{ private_key: buf(tls.key) as Buffer, cert_chain: buf(tls.cert) as Buffer }],
    tls.clientAuth ?? false,
  );
}

/** Reads a PEM file named by a flag, or a ValidationError naming the flag and the file. */
export function readPemFile(flag: string, path: string): Buffer {
  try {
    const pem = readFileSync(path);
    if (!pem.toString('latin1').includes('-----BEGIN '))
      throw new Error('not a PEM file (no "-----BEGIN" line)');
    return pem;
  } catch (err) {
    throw new ValidationError(flag, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
