import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';

/** What every {@link JobServiceError} carries besides its message. */
export interface JobServiceErrorContext {
  /** The gRPC status code the coordinator (or the channel) answered with. */
  code: GrpcStatus;
  /** The status details, as the coordinator wrote them. */
  details: string;
  /** The RPC that failed, e.g. `SubmitJob`. */
  method: string;
  /** The job id of the request, when it had one. */
  jobId?: string;
  cause?: unknown;
}

/**
 * Base class of every error the client throws for a failed call. Subclasses name the failure mode;
 * `code` keeps the raw gRPC status for anything finer.
 */
export class JobServiceError extends Error {
  override name = 'JobServiceError';
  readonly code: GrpcStatus;
  readonly details: string;
  readonly method: string;
  readonly jobId: string | undefined;
  constructor(message: string, context: JobServiceErrorContext) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = context.code;
    this.details = context.details;
    this.method = context.method;
    this.jobId = context.jobId;
  }
}

/** The spec or a request field is invalid (`INVALID_ARGUMENT`); `field` names it, e.g. `spec.model.layers[1].units`. */
export class InvalidArgumentError extends JobServiceError {
  override name = 'InvalidArgumentError';
  /** The field path the coordinator named (the text before the first `: `), when it named one. */
  readonly field: string | undefined;
  constructor(message: string, context: JobServiceErrorContext) {
    super(message, context);
    const colon = context.details.indexOf(': ');
    this.field = colon > 0 ? context.details.slice(0, colon) : undefined;
  }
}

/** No job with that id (`NOT_FOUND`). */
export class JobNotFoundError extends JobServiceError {
  override name = 'JobNotFoundError';
}

/** The job is in the wrong state for the request, e.g. predictions before any evaluation (`FAILED_PRECONDITION`). */
export class JobStateError extends JobServiceError {
  override name = 'JobStateError';
}

/** A job with that id exists with a different spec (`ALREADY_EXISTS`). */
export class JobConflictError extends JobServiceError {
  override name = 'JobConflictError';
}

/** The coordinator's limits are reached (`RESOURCE_EXHAUSTED`). */
export class OverloadedError extends JobServiceError {
  override name = 'OverloadedError';
}

/** The coordinator cannot be reached (`UNAVAILABLE`), after the retries the call allows. */
export class UnavailableError extends JobServiceError {
  override name = 'UnavailableError';
}

/** The call ran past its deadline (`DEADLINE_EXCEEDED`). */
export class DeadlineExceededError extends JobServiceError {
  override name = 'DeadlineExceededError';
}

/** The token was refused (`UNAUTHENTICATED` or `PERMISSION_DENIED`). */
export class AuthenticationError extends JobServiceError {
  override name = 'AuthenticationError';
}

/** The call was cancelled by the caller (`CANCELLED`, e.g. an AbortSignal). */
export class CancelledError extends JobServiceError {
  override name = 'CancelledError';
}

const CLASSES: Partial<Record<GrpcStatus, typeof JobServiceError>> = {
  [GrpcStatus.INVALID_ARGUMENT]: InvalidArgumentError,
  [GrpcStatus.NOT_FOUND]: JobNotFoundError,
  [GrpcStatus.FAILED_PRECONDITION]: JobStateError,
  [GrpcStatus.ALREADY_EXISTS]: JobConflictError,
  [GrpcStatus.RESOURCE_EXHAUSTED]: OverloadedError,
  [GrpcStatus.UNAVAILABLE]: UnavailableError,
  [GrpcStatus.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [GrpcStatus.UNAUTHENTICATED]: AuthenticationError,
  [GrpcStatus.PERMISSION_DENIED]: AuthenticationError,
  [GrpcStatus.CANCELLED]: CancelledError,
};

/** True for errors produced by a grpc-js call. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** Turns a grpc-js error into the typed error of its status (anything else is returned unchanged). */
export function fromServiceError(err: unknown, method: string, jobId?: string): unknown {
  if (!isServiceError(err)) return err;
  const Class = CLASSES[err.code] ?? JobServiceError;
  const details = err.details || err.message;
  return new Class(`${method}${jobId ? ` ${jobId}` : ''}: ${details}`, {
    code: err.code,
    details,
    method,
    ...(jobId ? { jobId } : {}),
    cause: err,
  });
}
