import { status as GrpcStatus } from '@grpc/grpc-js';
import { StateError, isServiceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { backoffDelay, sleep } from '../retry.ts';
import type { ParameterClient } from './ps-client.ts';
import type { PsPullResult } from './ps-client-types.ts';

/** How long workers ride out a parameter-server outage before giving up. @default 120000 */
export const DEFAULT_PS_OUTAGE_MS = 120_000;

/**
 * What a worker does after a failed parameter-server call:
 * - `retry`: the same call again (UNAVAILABLE, DEADLINE_EXCEEDED: a shard down or a slow barrier;
 *   PushPull and Pull are idempotent);
 * - `resync`: the job's state on the shards changed under it: a shard restarted empty (NOT_FOUND),
 *   was rolled back (ABORTED, or FAILED_PRECONDITION for a step ahead of its barrier), or the shards
 *   disagree for a moment (a StateError about versions). Pull the current parameters again and go
 *   on from their version;
 * - `fatal`: anything else.
 */
export function psFailureKind(err: unknown): 'retry' | 'resync' | 'fatal' {
  if (err instanceof StateError) return 'resync';
  if (!isServiceError(err)) return 'fatal';
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'retry';
    case GrpcStatus.NOT_FOUND:
    case GrpcStatus.ABORTED:
    case GrpcStatus.FAILED_PRECONDITION:
      return 'resync';
    default:
      return 'fatal';
  }
}

/** Options of {@link pullConsistent}. */
export interface PsResyncOptions {
  signal: AbortSignal;
  logger: Logger;
  /** Give up (throw the last error) after this long. @default DEFAULT_PS_OUTAGE_MS */
  outageMs?: number;
}

/**
 * The job's current parameters once every shard holds the job at one version: pulls with bounded,
 * jittered backoff (0.2 s doubling to 5 s) while shards are down, empty or disagree, for at most
 * `outageMs`; then throws the last error. Undefined when the signal aborted.
 */
export async function pullConsistent(
  ps: ParameterClient,
  options: PsResyncOptions,
): Promise<PsPullResult | undefined> {
  const started = Date.now();
  const outageMs = options.outageMs ?? DEFAULT_PS_OUTAGE_MS;
  for (let attempt = 0; !options.signal.aborted; attempt++) {
    try {
      return await ps.pull({});
    } catch (err) {
      if (psFailureKind(err) === 'fatal' || Date.now() - started >= outageMs) throw err;
      if (attempt % 5 === 0) {
        options.logger.warn(
          { attempt, waitedMs: Date.now() - started, err: (err as Error).message },
          'waiting for the parameter server (restarting or restoring)',
        );
      }
      await sleep(200 + backoffDelay(attempt, 200, 5_000), options.signal);
    }
  }
  return undefined;
}
