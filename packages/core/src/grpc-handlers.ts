import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { toGrpcStatus } from './errors.ts';
import type { StatusObject } from './errors.ts';
import type { Logger } from './logger.ts';

/** What a unary handler body gets besides the request: the call's deadline and cancellation. */
export interface HandlerContext {
  /** The client's deadline (epoch ms), or now + `defaultWaitMs` when it sent none. */
  deadlineMs: number;
  /** Aborts when the client cancels the call. */
  signal: AbortSignal;
  /** The client's address as grpc-js reports it (`ipv4:127.0.0.1:5000`). */
  peer: string;
}

/** Options of {@link unaryHandler}. */
export interface HandlerOptions {
  logger: Logger;
  /** Deadline for calls that came without one. @default 60000 */
  defaultWaitMs?: number;
  /** Sees every error status before it is sent (e.g. to count rejections). */
  onError?: (status: StatusObject) => void;
}

/**
 * The one server-side adapter of the services: runs a handler body (sync or async, throwing or
 * rejecting) with the call's deadline and cancellation, and answers with its value or with the
 * status `toGrpcStatus` maps its error to (unexpected errors are logged as INTERNAL there).
 */
export function unaryHandler<Req, Res>(
  body: (request: Req, ctx: HandlerContext) => Res | Promise<Res>,
  options: HandlerOptions,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const d = call.getDeadline();
    const deadline = d instanceof Date ? d.getTime() : d;
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort());
    const ctx: HandlerContext = {
      deadlineMs: Number.isFinite(deadline) ? deadline : Date.now() + (options.defaultWaitMs ?? 60_000),
      signal: ac.signal,
      peer: call.getPeer(),
    };
    Promise.resolve()
      .then(() => body(call.request, ctx))
      .then(
        (value) => callback(null, value),
        (err: unknown) => {
          const status = grpcStatusOf(err, options.logger);
          options.onError?.(status);
          callback({ code: status.code, details: status.details });
        },
      );
  };
}

/** The status an error maps to, logging unexpected ones (errors.ts is the only place errors become codes). */
export function grpcStatusOf(err: unknown, logger: Logger): StatusObject {
  return toGrpcStatus(err, (e) => logger.error({ err: e }, 'internal error'));
}

/**
 * Ends a server stream with the status of `err`. grpc-js sends a server stream's status when 'error'
 * is emitted with it (destroy() would send CANCELLED).
 */
export function failStream(call: ServerWritableStream<unknown, unknown>, err: unknown, logger: Logger): void {
  call.emit('error', Object.assign(new Error(), grpcStatusOf(err, logger)));
}
