import { credentials } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';

/** TLS material for the channel, as PEM text or bytes (read the files yourself). */
export interface TlsOptions {
  /** CA certificate(s) that signed the coordinator's certificate. @default the system roots */
  ca?: string | Buffer;
  /** Client certificate, for mutual TLS (with `key`). */
  cert?: string | Buffer;
  /** Client private key, for mutual TLS (with `cert`). */
  key?: string | Buffer;
  /** Name to check the server certificate against, when it differs from the address's host. */
  serverName?: string;
}

/** Options of {@link DistrainClient}. Every field is optional; defaults are documented per field. */
export interface ClientOptions {
  /** Coordinator address, `HOST:PORT`. @default '127.0.0.1:7070' */
  address?: string;
  /** Bearer token sent as `authorization: Bearer TOKEN` metadata on every call. @default none */
  token?: string;
  /** TLS: `true` for the system roots, or the CA / client certificate to use. @default plaintext */
  tls?: boolean | TlsOptions;
  /** Deadline of each unary call (submit, get, list, cancel), in ms. @default 30000 */
  timeoutMs?: number;
  /** Deadline of a predictions or export download, in ms. @default 300000 */
  downloadTimeoutMs?: number;
  /** Retries of idempotent calls (get, list, cancel) on UNAVAILABLE / DEADLINE_EXCEEDED. @default 2 */
  retries?: number;
  /** Largest message either way, in bytes. @default 67108864 (64 MiB) */
  maxMessageBytes?: number;
}

/** {@link ClientOptions} with every default applied and checked. */
export interface CompiledClientOptions {
  readonly address: string;
  readonly token: string | undefined;
  readonly credentials: ChannelCredentials;
  readonly serverName: string | undefined;
  readonly timeoutMs: number;
  readonly downloadTimeoutMs: number;
  readonly retries: number;
  readonly maxMessageBytes: number;
}

/** A client option is invalid; the message names the option and the fix. */
export class ClientOptionsError extends Error {
  override name = 'ClientOptionsError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

function positiveInt(field: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min)
    throw new ClientOptionsError(field, `must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return value;
}

const toBuffer = (v: string | Buffer | undefined): Buffer | null =>
  v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);

/** Validates the options at the boundary and returns a complete, frozen set. */
export function compileClientOptions(options: ClientOptions = {}): CompiledClientOptions {
  const address = options.address ?? '127.0.0.1:7070';
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/.test(address))
    throw new ClientOptionsError(
      'address',
      `must be HOST:PORT, e.g. 127.0.0.1:7070, got ${JSON.stringify(address)}`,
    );
  if (options.token !== undefined && (options.token === '' || /[\r\n]/.test(options.token)))
    throw new ClientOptionsError('token', 'must be a non-empty single-line string (sent as a bearer token)');
  let creds = credentials.createInsecure();
  let serverName: string | undefined;
  if (options.tls) {
    const tls = options.tls === true ? {} : options.tls;
    if ((tls.cert === undefined) !== (tls.key === undefined))
      throw new ClientOptionsError('tls', 'cert and key go together (mutual TLS): give both or neither');
    creds = credentials.createSsl(toBuffer(tls.ca), toBuffer(tls.key), toBuffer(tls.cert));
    serverName = tls.serverName;
  }
  return Object.freeze({
    address,
    token: options.token,
    credentials: creds,
    serverName,
    timeoutMs: positiveInt('timeoutMs', options.timeoutMs, 30_000),
    downloadTimeoutMs: positiveInt('downloadTimeoutMs', options.downloadTimeoutMs, 300_000),
    retries: positiveInt('retries', options.retries, 2, 0),
    maxMessageBytes: positiveInt('maxMessageBytes', options.maxMessageBytes, 64 * 1024 * 1024),
  });
}
