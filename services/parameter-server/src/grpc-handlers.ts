import { status as GrpcStatus } from '@grpc/grpc-js';
import { distrainProto, unaryHandler } from '@distrain/core';
import type { AccessRules, Logger, ParameterServerServiceHandlers, ServiceBinding } from '@distrain/core';
import type {
  EndJobRequest__Output,
  ExchangeStatsRequest__Output,
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
 * Who may call what: a job's workers push and pull that job (the job credential, also on the
 * ZeroMQ data plane); DataPlane only names a port; InitJob, SetMembers, EndJob (the coordinator) and
 * ShareNorms (shard to shard) need the deployment token.
 */
export const PS_ACCESS: AccessRules = {
  'distrain.v1.ParameterServerService': 'service',
  'distrain.v1.ParameterServerService/PushPull': 'job',
  'distrain.v1.ParameterServerService/Pull': 'job',
  'distrain.v1.ParameterServerService/ExchangeStats': 'job',
  'distrain.v1.ParameterServerService/DataPlane': 'open',
};

/**
 * The thin gRPC layer over a {@link ParameterServerService}, through the core's one handler adapter
 * (`unaryHandler`: the call's deadline and cancellation as a {@link CallContext}, errors as status
 * codes only through `toGrpcStatus`); rejections are counted by reason.
 */
export function psGrpcBinding(
  service: ParameterServerService,
  options: { logger: Logger; observer: PsObserver; maxWaitMs: number },
): ServiceBinding {
  const adapter = {
    logger: options.logger,
    defaultWaitMs: options.maxWaitMs,
    onError: (st: { code: GrpcStatus; details: string; reason?: string }): void => {
      options.observer.onRejected(st.reason ?? reasonOf(st.code));
      if (st.code === GrpcStatus.INTERNAL) options.logger.warn({ details: st.details }, 'request failed');
    },
  };
  const unary = <Req, Res>(fn: (req: Req, ctx: CallContext) => Res | Promise<Res>) =>
    unaryHandler<Req, Res>(fn, adapter);
  const handlers: ParameterServerServiceHandlers = {
    InitJob: unary((req: InitJobRequest__Output) => service.initJob(req)),
    PushPull: unary((req: PushPullRequest__Output, ctx) => service.pushPull(req, ctx)),
    Pull: unary((req: PullRequest__Output, ctx) => service.pull(req, ctx)),
    SetMembers: unary((req: SetMembersRequest__Output) => Promise.resolve(service.setMembers(req))),
    EndJob: unary((req: EndJobRequest__Output) => service.endJob(req)),
    ShareNorms: unary((req: ShareNormsRequest__Output) => Promise.resolve(service.shareNorms(req))),
    ExchangeStats: unary((req: ExchangeStatsRequest__Output, ctx) => service.exchangeStats(req, ctx)),
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
