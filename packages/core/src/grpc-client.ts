import { status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import type { CallOptions, ServiceError } from '@grpc/grpc-js';
import { isServiceError } from './errors.ts';
import { withRetry } from './retry.ts';

/**
 * A grpc-js unary client method. Typed by its last overload `(request, callback)` so TypeScript can
 * infer the request and response types; it is called with metadata and call options (the first
 * overload) at run time.
 */
type UnaryMethod<Req, Res> = (
  request: Req,
  callback: (err: ServiceError | null, value?: Res) => void,
) => unknown;
type FullUnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: CallOptions,
  callback: (err: ServiceError | null, value?: Res) => void,
) => unknown;

/** Options of {@link unary}. */
export interface UnaryOptions {
  /** Deadline of one attempt, in ms. Every call has one. @default 10000 */
  timeoutMs?: number;
  /** Retries on UNAVAILABLE / DEADLINE_EXCEEDED, only for idempotent calls. @default 0 */
  retries?: number;
  /** First backoff, doubled per retry with full jitter. @default 100 */
  backoffMs?: number;
  /** Aborts waiting between retries. */
  signal?: AbortSignal;
}

const RETRYABLE = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

/**
 * Calls a unary method as a promise with a deadline on every attempt, retrying idempotent calls on
 * UNAVAILABLE / DEADLINE_EXCEEDED under the one retry policy (`retry.ts`: full jitter).
 */
export async function unary<Req, Res>(
  client: object,
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: UnaryOptions = {},
): Promise<Res> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return withRetry(
    () =>
      new Promise<Res>((resolve, reject) => {
        const full = method as unknown as FullUnaryMethod<Req, Res>;
        // A deadline on every attempt.
        full.call(client, request, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, value) => {
          if (err) reject(err);
          else resolve(value as Res);
        });
      }),
    (err) => isServiceError(err) && RETRYABLE.has(err.code),
    {
      retries: options.retries ?? 0,
      baseMs: options.backoffMs ?? 100,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}
