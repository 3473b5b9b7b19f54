import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { distrainProto, toGrpcStatus } from '@distrain/core';
import type { Logger, ParameterServerServiceHandlers, ServiceBinding } from '@distrain/core';
import type {
  EndJobRequest__Output,
  InitJobRequest__Output,
  PsObserver,
  PullRequest__Output,
  PushPullRequest__Output,
  SetMembersRequest__Output,
  ShareNormsRequest__Output,
} from '@distrain/core/ps';
import type { ParameterServerService } from './ps-service.ts';
import type { CallContext } from './wait.ts';

/**
 * The thin gRPC layer over a {@link ParameterServerService}: each handler turns the call's deadline
 * and cancellation into a {@link CallContext}, and errors into status codes only through
 * `toGrpcStatus`.
 */
export function psGrpcBinding(
  service: ParameterServerService,
  options: { logger: Logger; observer: PsObserver; maxWaitMs: number },
): ServiceBinding {
  const unary =
    <Req, Res>(fn: (req: Req, ctx: CallContext) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const d = call.getDeadline();
      const deadline = d instanceof Date ? d.getTime() : d;
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      const ctx: CallContext = {
        deadlineMs: Number.isFinite(deadline) ? deadline : Date.now() + options.maxWaitMs,
        signal: ac.signal,
      };
      let promise: Promise<Res>;
      try {
        promise = fn(call.request, ctx);
      } catch (err) {
        promise = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      promise.then(
        (res) => callback(null, res),
        (err: unknown) => {
          const st = toGrpcStatus(err, (e) => options.logger.error({ err: e }, 'internal error'));
          options.observer.onRejected(reasonOf(st.code));
          if (st.code === GrpcStatus.INTERNAL) options.logger.warn({ details: st.details }, 'request failed');
          callback({ code: st.code, details: st.details });
        },
      );
    };
  const handlers: ParameterServerServiceHandlers = {
    InitJob: unary((req: InitJobRequest__Output) => service.initJob(req)),
    PushPull: unary((req: PushPullRequest__Output, ctx) => service.pushPull(req, ctx)),
    Pull: unary((req: PullRequest__Output, ctx) => service.pull(req, ctx)),
    SetMembers: unary((req: SetMembersRequest__Output) => Promise.resolve(service.setMembers(req))),
    EndJob: unary((req: EndJobRequest__Output) => service.endJob(req)),
    ShareNorms: unary((req: ShareNormsRequest__Output) => Promise.resolve(service.shareNorms(req))),
    DataPlane: unary(() => Promise.resolve({ ...service.dataPlane })),
  };
  return {
    name: 'distrain.v1.ParameterServerService',
    definition: distrainProto().ParameterServerService.service,
    implementation: handlers,
  };
}

/** A status code as the low-cardinality `reason` label (`invalid_argument`, `not_found`, ...). */
export function reasonOf(code: GrpcStatus): string {
  const name = (GrpcStatus as unknown as Record<number, string>)[code];
  return (name ?? 'unknown').toLowerCase();
}
