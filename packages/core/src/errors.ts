import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';

/** Context carried by every distrain error; all fields optional. */
export interface ErrorContext {
  /** Job the failure belongs to. */
  jobId?: string;
  /** Global step at the failure, when known. */
  step?: number;
  /** Dotted path of the offending field of a request or spec, e.g. `model.layers[3].units`. */
  field?: string;
  /** File involved (dataset, checkpoint). */
  file?: string;
  /** Underlying error. */
  cause?: unknown;
  /**
   * Low-cardinality word for counting rejections (`non_finite`, `shape`, `rank`, `step`, `size`),
   * e.g. the parameter server's `distrain_ps_rejected_total{reason}`.
   */
  reason?: string;
}

/** Base class: every error thrown by distrain code derives from it. */
export class DistrainError extends Error {
  override name = 'DistrainError';
  readonly jobId: string | undefined;
  readonly step: number | undefined;
  readonly field: string | undefined;
  readonly file: string | undefined;
  readonly reason: string | undefined;
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.reason = context.reason;
    this.jobId = context.jobId;
    this.step = context.step;
    this.field = context.field;
    this.file = context.file;
  }
}

/** A request or spec field is invalid. The message names the field path and the fix. */
export class ValidationError extends DistrainError {
  override name = 'ValidationError';
  constructor(field: string, message: string, context: Omit<ErrorContext, 'field'> = {}) {
    super(`${field}: ${message}`, { ...context, field });
  }
}

/** A named thing (job, dataset, snapshot) does not exist. */
export class NotFoundError extends DistrainError {
  override name = 'NotFoundError';
}

/** A file exists but cannot be read or is corrupt. The message names the file and the problem. */
export class DatasetFileError extends DistrainError {
  override name = 'DatasetFileError';
}

/** The request is valid but the target is in the wrong state for it. */
export class StateError extends DistrainError {
  override name = 'StateError';
}

/** A second, different definition for an existing id. */
export class ConflictError extends DistrainError {
  override name = 'ConflictError';
}

/** A limit (jobs, streams, message size) is reached. */
export class OverloadError extends DistrainError {
  override name = 'OverloadError';
}

/** The job ended (cancelled, failed) while the request waited. */
export class AbortedError extends DistrainError {
  override name = 'AbortedError';
}

/** A service this one depends on cannot be reached (e.g. the data-loader is down); worth retrying later. */
export class UnavailableError extends DistrainError {
  override name = 'UnavailableError';
}

/** A wait ran past its deadline. */
export class TimeoutError extends DistrainError {
  override name = 'TimeoutError';
}

/** The caller sent no credential or a wrong one. The message says where the credential comes from. */
export class UnauthenticatedError extends DistrainError {
  override name = 'UnauthenticatedError';
}

/** The caller's credential is valid but not for this target (a job's worker calling another job). */
export class PermissionDeniedError extends DistrainError {
  override name = 'PermissionDeniedError';
}

/** A gRPC status code with a message, ready for a callback. */
export interface StatusObject {
  code: GrpcStatus;
  details: string;
  /** The error's rejection reason (`ErrorContext.reason`), when it has one. Not sent. */
  reason?: string;
}

/**
 * Longest status message sent: an error never echoes unbounded input (a status message travels in
 * HTTP/2 trailers, and one over the peer's header limit breaks the call and the channel).
 */
export const MAX_STATUS_DETAILS = 1024;

function bounded(details: string): string {
  return details.length <= MAX_STATUS_DETAILS
    ? details
    : `${details.slice(0, MAX_STATUS_DETAILS)}... (${details.length} characters)`;
}

/**
 * Maps any thrown value to a gRPC status. This is the only place where errors become status codes
 * (grpc-js `serverErrorToStatus`). Unknown errors become INTERNAL and are reported to `onInternal`.
 */
export function toGrpcStatus(err: unknown, onInternal?: (err: unknown) => void): StatusObject {
  const st = statusOf(err, onInternal);
  const reason = err instanceof DistrainError ? err.reason : undefined;
  return { code: st.code, details: bounded(st.details), ...(reason === undefined ? {} : { reason }) };
}

function statusOf(err: unknown, onInternal?: (err: unknown) => void): StatusObject {
  if (err instanceof ValidationError) return { code: GrpcStatus.INVALID_ARGUMENT, details: err.message };
  if (err instanceof NotFoundError) return { code: GrpcStatus.NOT_FOUND, details: err.message };
  if (err instanceof DatasetFileError) return { code: GrpcStatus.FAILED_PRECONDITION, details: err.message };
  if (err instanceof StateError) return { code: GrpcStatus.FAILED_PRECONDITION, details: err.message };
  if (err instanceof ConflictError) return { code: GrpcStatus.ALREADY_EXISTS, details: err.message };
  if (err instanceof OverloadError) return { code: GrpcStatus.RESOURCE_EXHAUSTED, details: err.message };
  if (err instanceof AbortedError) return { code: GrpcStatus.ABORTED, details: err.message };
  if (err instanceof TimeoutError) return { code: GrpcStatus.DEADLINE_EXCEEDED, details: err.message };
  if (err instanceof UnauthenticatedError) return { code: GrpcStatus.UNAUTHENTICATED, details: err.message };
  if (err instanceof PermissionDeniedError)
    return { code: GrpcStatus.PERMISSION_DENIED, details: err.message };
  if (err instanceof UnavailableError) return { code: GrpcStatus.UNAVAILABLE, details: err.message };
  if (isServiceError(err)) return { code: err.code, details: err.details };
  onInternal?.(err);
  const message = err instanceof Error ? err.message : String(err);
  return { code: GrpcStatus.INTERNAL, details: `internal error: ${message}` };
}

/** True for errors produced by a grpc-js client call. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}
