import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from '../errors.ts';

/** The metadata key of every credential: `authorization: Bearer <token>`. */
export const AUTHORIZATION_KEY = 'authorization';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * True when `a` and `b` are the same token, in time independent of where they differ: both are
 * hashed first (equal lengths for `timingSafeEqual`, and the length of the secret does not leak).
 */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** A fresh random token (32 bytes, base64url): what `distrain up` and `run` generate. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The bearer token of a call's metadata, or undefined when there is none. */
export function bearerToken(metadata: Metadata): string | undefined {
  const raw = metadata.get(AUTHORIZATION_KEY)[0];
  if (typeof raw !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(raw);
  return m?.[1];
}

/**
 * The credential of job `jobId`'s workers: `<jobId>.<HMAC-SHA256(service token, jobId)>`. Every
 * service holding the service token checks it without state (it survives restarts of the
 * coordinator, a shard or the loader), and the job id inside lets a valid credential of another job
 * be told apart (PERMISSION_DENIED) from a forged one (UNAUTHENTICATED).
 */
export function jobCredential(serviceToken: string, jobId: string): string {
  return `${jobId}.${createHmac('sha256', serviceToken).update(`distrain-job:${jobId}`).digest('base64url')}`;
}

/** Where a caller gets its token from, for the UNAUTHENTICATED message of each kind of call. */
export interface TokenHints {
  /** For user and service calls. */
  service: string;
  /** For the job workers' calls. */
  job: string;
}

const DEFAULT_HINTS: TokenHints = {
  service:
    'send the deployment token as "authorization: Bearer TOKEN" (distrain CLI: --token, DISTRAIN_TOKEN, or the file `distrain up` writes to $XDG_CONFIG_HOME/distrain/token; services: --auth-token-file / DISTRAIN_AUTH_TOKEN_FILE or DISTRAIN_AUTH_TOKEN)',
  job: 'workers send their job\'s credential (WorkerConfig.token, minted by the coordinator) as "authorization: Bearer TOKEN"',
};

/**
 * Checks credentials against the deployment token (the one token of users and services) and the
 * job credentials derived from it. With no token (`--auth none`) every check passes.
 */
export class Authenticator {
  private readonly token: string | undefined;
  private readonly hints: TokenHints;

  constructor(token: string | undefined, hints: Partial<TokenHints> = {}) {
    if (token !== undefined && token === '')
      throw new Error('Authenticator: empty token; pass undefined for no auth');
    this.token = token;
    this.hints = { ...DEFAULT_HINTS, ...hints };
  }

  /** False for `--auth none`: every call is accepted. */
  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** The credential the workers of `jobId` send (empty without auth). */
  jobCredential(jobId: string): string {
    return this.token === undefined ? '' : jobCredential(this.token, jobId);
  }

  /** A user or service call: the deployment token, or UNAUTHENTICATED. */
  checkService(presented: string | undefined): void {
    if (this.token === undefined) return;
    if (presented === undefined || presented === '')
      throw new UnauthenticatedError(`missing bearer token: ${this.hints.service}`);
    if (!tokensEqual(presented, this.token))
      throw new UnauthenticatedError(`wrong bearer token: ${this.hints.service}`);
  }

  /**
   * A worker call on job `jobId`: that job's credential (or the deployment token). Missing or
   * forged: UNAUTHENTICATED; a valid credential of another job: PERMISSION_DENIED.
   */
  checkJob(presented: string | undefined, jobId: string): void {
    if (this.token === undefined) return;
    if (presented === undefined || presented === '')
      throw new UnauthenticatedError(`missing job credential: ${this.hints.job}`, { jobId });
    if (tokensEqual(presented, jobCredential(this.token, jobId))) return;
    if (tokensEqual(presented, this.token)) return;
    const dot = presented.lastIndexOf('.');
    const owner = dot > 0 ? presented.slice(0, dot) : '';
    if (owner !== '' && tokensEqual(presented, jobCredential(this.token, owner)))
      throw new PermissionDeniedError(
        `the credential belongs to another job, not to job ${jobId}: a worker may only call its own job`,
        { jobId },
      );
    throw new UnauthenticatedError(`wrong job credential: ${this.hints.job}`, { jobId });
  }
}
