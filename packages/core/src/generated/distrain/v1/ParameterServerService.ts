// Original file: proto/distrain/v1/parameter_server.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DataPlaneRequest as _distrain_v1_DataPlaneRequest, DataPlaneRequest__Output as _distrain_v1_DataPlaneRequest__Output } from '../../distrain/v1/DataPlaneRequest.ts';
import type { DataPlaneResponse as _distrain_v1_DataPlaneResponse, DataPlaneResponse__Output as _distrain_v1_DataPlaneResponse__Output } from '../../distrain/v1/DataPlaneResponse.ts';
import type { EndJobRequest as _distrain_v1_EndJobRequest, EndJobRequest__Output as _distrain_v1_EndJobRequest__Output } from '../../distrain/v1/EndJobRequest.ts';
import type { EndJobResponse as _distrain_v1_EndJobResponse, EndJobResponse__Output as _distrain_v1_EndJobResponse__Output } from '../../distrain/v1/EndJobResponse.ts';
import type { ExchangeStatsRequest as _distrain_v1_ExchangeStatsRequest, ExchangeStatsRequest__Output as _distrain_v1_ExchangeStatsRequest__Output } from '../../distrain/v1/ExchangeStatsRequest.ts';
import type { ExchangeStatsResponse as _distrain_v1_ExchangeStatsResponse, ExchangeStatsResponse__Output as _distrain_v1_ExchangeStatsResponse__Output } from '../../distrain/v1/ExchangeStatsResponse.ts';
import type { InitJobRequest as _distrain_v1_InitJobRequest, InitJobRequest__Output as _distrain_v1_InitJobRequest__Output } from '../../distrain/v1/InitJobRequest.ts';
import type { InitJobResponse as _distrain_v1_InitJobResponse, InitJobResponse__Output as _distrain_v1_InitJobResponse__Output } from '../../distrain/v1/InitJobResponse.ts';
import type { PullRequest as _distrain_v1_PullRequest, PullRequest__Output as _distrain_v1_PullRequest__Output } from '../../distrain/v1/PullRequest.ts';
import type { PullResponse as _distrain_v1_PullResponse, PullResponse__Output as _distrain_v1_PullResponse__Output } from '../../distrain/v1/PullResponse.ts';
import type { PushPullRequest as _distrain_v1_PushPullRequest, PushPullRequest__Output as _distrain_v1_PushPullRequest__Output } from '../../distrain/v1/PushPullRequest.ts';
import type { PushPullResponse as _distrain_v1_PushPullResponse, PushPullResponse__Output as _distrain_v1_PushPullResponse__Output } from '../../distrain/v1/PushPullResponse.ts';
import type { SetMembersRequest as _distrain_v1_SetMembersRequest, SetMembersRequest__Output as _distrain_v1_SetMembersRequest__Output } from '../../distrain/v1/SetMembersRequest.ts';
import type { SetMembersResponse as _distrain_v1_SetMembersResponse, SetMembersResponse__Output as _distrain_v1_SetMembersResponse__Output } from '../../distrain/v1/SetMembersResponse.ts';
import type { ShareNormsRequest as _distrain_v1_ShareNormsRequest, ShareNormsRequest__Output as _distrain_v1_ShareNormsRequest__Output } from '../../distrain/v1/ShareNormsRequest.ts';
import type { ShareNormsResponse as _distrain_v1_ShareNormsResponse, ShareNormsResponse__Output as _distrain_v1_ShareNormsResponse__Output } from '../../distrain/v1/ShareNormsResponse.ts';

/**
 * One parameter-server shard. A job's variables are cut into parts of at most 4 MB and the parts
 * are spread across shards by a deterministic plan that every trainer, the evaluator and every
 * shard compute from the same variable list (see the core library's `partitionPlan`).
 */
export interface ParameterServerServiceClient extends grpc.Client {
  /**
   * Where this shard serves its tensor data plane: PushPull and Pull with the same message bytes
   * over ZeroMQ (see packages/core/src/ps/zmq-channel.ts for the frames). Port 0: none, use gRPC.
   */
  DataPlane(argument: _distrain_v1_DataPlaneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  DataPlane(argument: _distrain_v1_DataPlaneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  DataPlane(argument: _distrain_v1_DataPlaneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  DataPlane(argument: _distrain_v1_DataPlaneRequest, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Where this shard serves its tensor data plane: PushPull and Pull with the same message bytes
   * over ZeroMQ (see packages/core/src/ps/zmq-channel.ts for the frames). Port 0: none, use gRPC.
   */
  dataPlane(argument: _distrain_v1_DataPlaneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  dataPlane(argument: _distrain_v1_DataPlaneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  dataPlane(argument: _distrain_v1_DataPlaneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  dataPlane(argument: _distrain_v1_DataPlaneRequest, callback: grpc.requestCallback<_distrain_v1_DataPlaneResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Frees everything held for a job (parameters, optimizer state, snapshots); waiting pushes end with
   * ABORTED. Idempotent. Errors: INVALID_ARGUMENT (empty job id).
   */
  EndJob(argument: _distrain_v1_EndJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  EndJob(argument: _distrain_v1_EndJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  EndJob(argument: _distrain_v1_EndJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  EndJob(argument: _distrain_v1_EndJobRequest, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Frees everything held for a job (parameters, optimizer state, snapshots); waiting pushes end with
   * ABORTED. Idempotent. Errors: INVALID_ARGUMENT (empty job id).
   */
  endJob(argument: _distrain_v1_EndJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  endJob(argument: _distrain_v1_EndJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  endJob(argument: _distrain_v1_EndJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  endJob(argument: _distrain_v1_EndJobRequest, callback: grpc.requestCallback<_distrain_v1_EndJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Synchronized batch norm (served by shard 0): an all-gather of small per-channel vectors among
   * the live ranks of a step. Each rank sends its vector for (step, slot); the call returns once
   * every live rank of the job has sent one for the same (step, slot), with all of them in rank
   * order. Idempotent per (rank, step, slot): a repeat keeps the first vector.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (length differs from the other ranks'),
   * FAILED_PRECONDITION (rank not a member, step already applied), DEADLINE_EXCEEDED (not every rank
   * sent in time; retry), ABORTED (job ended).
   */
  ExchangeStats(argument: _distrain_v1_ExchangeStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  ExchangeStats(argument: _distrain_v1_ExchangeStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  ExchangeStats(argument: _distrain_v1_ExchangeStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  ExchangeStats(argument: _distrain_v1_ExchangeStatsRequest, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Synchronized batch norm (served by shard 0): an all-gather of small per-channel vectors among
   * the live ranks of a step. Each rank sends its vector for (step, slot); the call returns once
   * every live rank of the job has sent one for the same (step, slot), with all of them in rank
   * order. Idempotent per (rank, step, slot): a repeat keeps the first vector.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (length differs from the other ranks'),
   * FAILED_PRECONDITION (rank not a member, step already applied), DEADLINE_EXCEEDED (not every rank
   * sent in time; retry), ABORTED (job ended).
   */
  exchangeStats(argument: _distrain_v1_ExchangeStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  exchangeStats(argument: _distrain_v1_ExchangeStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  exchangeStats(argument: _distrain_v1_ExchangeStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  exchangeStats(argument: _distrain_v1_ExchangeStatsRequest, callback: grpc.requestCallback<_distrain_v1_ExchangeStatsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Creates this shard's parameters and optimizer state for a job: seeded Glorot/He kernels,
   * identical whatever the number of shards or trainers. Idempotent for an identical request;
   * resumes from the newest checkpoint when `resume` is set and one exists (or rolls back to
   * `resume_version` with `rollback`).
   * Errors: INVALID_ARGUMENT (bad variables or optimizer), ALREADY_EXISTS (same job id, other spec),
   * FAILED_PRECONDITION (rollback to a version no checkpoint holds, or a checkpoint of another job).
   */
  InitJob(argument: _distrain_v1_InitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  InitJob(argument: _distrain_v1_InitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  InitJob(argument: _distrain_v1_InitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  InitJob(argument: _distrain_v1_InitJobRequest, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Creates this shard's parameters and optimizer state for a job: seeded Glorot/He kernels,
   * identical whatever the number of shards or trainers. Idempotent for an identical request;
   * resumes from the newest checkpoint when `resume` is set and one exists (or rolls back to
   * `resume_version` with `rollback`).
   * Errors: INVALID_ARGUMENT (bad variables or optimizer), ALREADY_EXISTS (same job id, other spec),
   * FAILED_PRECONDITION (rollback to a version no checkpoint holds, or a checkpoint of another job).
   */
  initJob(argument: _distrain_v1_InitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  initJob(argument: _distrain_v1_InitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  initJob(argument: _distrain_v1_InitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  initJob(argument: _distrain_v1_InitJobRequest, callback: grpc.requestCallback<_distrain_v1_InitJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Current parameters, or the snapshot taken at the end of `epoch` (waits for it up to the deadline).
   * Errors: NOT_FOUND (unknown job, or snapshot released), DEADLINE_EXCEEDED.
   */
  Pull(argument: _distrain_v1_PullRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  Pull(argument: _distrain_v1_PullRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  Pull(argument: _distrain_v1_PullRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  Pull(argument: _distrain_v1_PullRequest, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Current parameters, or the snapshot taken at the end of `epoch` (waits for it up to the deadline).
   * Errors: NOT_FOUND (unknown job, or snapshot released), DEADLINE_EXCEEDED.
   */
  pull(argument: _distrain_v1_PullRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  pull(argument: _distrain_v1_PullRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  pull(argument: _distrain_v1_PullRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  pull(argument: _distrain_v1_PullRequest, callback: grpc.requestCallback<_distrain_v1_PullResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Sync-SGD step: push this rank's gradient sums for `step`, wait for every live rank (the barrier),
   * and receive the parameters of version step+1 in the same round trip. A repeated push for an
   * already-applied (rank, step) is not applied again; it returns the current parameters.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (bad parts), FAILED_PRECONDITION (rank evicted,
   * step ahead of the barrier), DEADLINE_EXCEEDED (the barrier did not fill in time), ABORTED (job ended).
   */
  PushPull(argument: _distrain_v1_PushPullRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  PushPull(argument: _distrain_v1_PushPullRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  PushPull(argument: _distrain_v1_PushPullRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  PushPull(argument: _distrain_v1_PushPullRequest, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Sync-SGD step: push this rank's gradient sums for `step`, wait for every live rank (the barrier),
   * and receive the parameters of version step+1 in the same round trip. A repeated push for an
   * already-applied (rank, step) is not applied again; it returns the current parameters.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (bad parts), FAILED_PRECONDITION (rank evicted,
   * step ahead of the barrier), DEADLINE_EXCEEDED (the barrier did not fill in time), ABORTED (job ended).
   */
  pushPull(argument: _distrain_v1_PushPullRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  pushPull(argument: _distrain_v1_PushPullRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  pushPull(argument: _distrain_v1_PushPullRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  pushPull(argument: _distrain_v1_PushPullRequest, callback: grpc.requestCallback<_distrain_v1_PushPullResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Sets the live ranks of a job's barrier (elastic eviction): a pending step completes with the
   * remaining ranks. Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (empty set).
   */
  SetMembers(argument: _distrain_v1_SetMembersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  SetMembers(argument: _distrain_v1_SetMembersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  SetMembers(argument: _distrain_v1_SetMembersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  SetMembers(argument: _distrain_v1_SetMembersRequest, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Sets the live ranks of a job's barrier (elastic eviction): a pending step completes with the
   * remaining ranks. Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (empty set).
   */
  setMembers(argument: _distrain_v1_SetMembersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  setMembers(argument: _distrain_v1_SetMembersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  setMembers(argument: _distrain_v1_SetMembersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  setMembers(argument: _distrain_v1_SetMembersRequest, callback: grpc.requestCallback<_distrain_v1_SetMembersResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Shard to shard, for clipping by global norm with several shards: the sender's partial sums of
   * squares of a step's mean gradient, one per trainable part it owns (plan order). Every shard sums
   * all partials in plan part order, so the norm equals one shard's. Idempotent.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (bad shard index or count).
   */
  ShareNorms(argument: _distrain_v1_ShareNormsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  ShareNorms(argument: _distrain_v1_ShareNormsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  ShareNorms(argument: _distrain_v1_ShareNormsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  ShareNorms(argument: _distrain_v1_ShareNormsRequest, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Shard to shard, for clipping by global norm with several shards: the sender's partial sums of
   * squares of a step's mean gradient, one per trainable part it owns (plan order). Every shard sums
   * all partials in plan part order, so the norm equals one shard's. Idempotent.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (bad shard index or count).
   */
  shareNorms(argument: _distrain_v1_ShareNormsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  shareNorms(argument: _distrain_v1_ShareNormsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  shareNorms(argument: _distrain_v1_ShareNormsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  shareNorms(argument: _distrain_v1_ShareNormsRequest, callback: grpc.requestCallback<_distrain_v1_ShareNormsResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * One parameter-server shard. A job's variables are cut into parts of at most 4 MB and the parts
 * are spread across shards by a deterministic plan that every trainer, the evaluator and every
 * shard compute from the same variable list (see the core library's `partitionPlan`).
 */
export interface ParameterServerServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Where this shard serves its tensor data plane: PushPull and Pull with the same message bytes
   * over ZeroMQ (see packages/core/src/ps/zmq-channel.ts for the frames). Port 0: none, use gRPC.
   */
  DataPlane: grpc.handleUnaryCall<_distrain_v1_DataPlaneRequest__Output, _distrain_v1_DataPlaneResponse>;
  
  /**
   * Frees everything held for a job (parameters, optimizer state, snapshots); waiting pushes end with
   * ABORTED. Idempotent. Errors: INVALID_ARGUMENT (empty job id).
   */
  EndJob: grpc.handleUnaryCall<_distrain_v1_EndJobRequest__Output, _distrain_v1_EndJobResponse>;
  
  /**
   * Synchronized batch norm (served by shard 0): an all-gather of small per-channel vectors among
   * the live ranks of a step. Each rank sends its vector for (step, slot); the call returns once
   * every live rank of the job has sent one for the same (step, slot), with all of them in rank
   * order. Idempotent per (rank, step, slot): a repeat keeps the first vector.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (length differs from the other ranks'),
   * FAILED_PRECONDITION (rank not a member, step already applied), DEADLINE_EXCEEDED (not every rank
   * sent in time; retry), ABORTED (job ended).
   */
  ExchangeStats: grpc.handleUnaryCall<_distrain_v1_ExchangeStatsRequest__Output, _distrain_v1_ExchangeStatsResponse>;
  
  /**
   * Creates this shard's parameters and optimizer state for a job: seeded Glorot/He kernels,
   * identical whatever the number of shards or trainers. Idempotent for an identical request;
   * resumes from the newest checkpoint when `resume` is set and one exists (or rolls back to
   * `resume_version` with `rollback`).
   * Errors: INVALID_ARGUMENT (bad variables or optimizer), ALREADY_EXISTS (same job id, other spec),
   * FAILED_PRECONDITION (rollback to a version no checkpoint holds, or a checkpoint of another job).
   */
  InitJob: grpc.handleUnaryCall<_distrain_v1_InitJobRequest__Output, _distrain_v1_InitJobResponse>;
  
  /**
   * Current parameters, or the snapshot taken at the end of `epoch` (waits for it up to the deadline).
   * Errors: NOT_FOUND (unknown job, or snapshot released), DEADLINE_EXCEEDED.
   */
  Pull: grpc.handleUnaryCall<_distrain_v1_PullRequest__Output, _distrain_v1_PullResponse>;
  
  /**
   * Sync-SGD step: push this rank's gradient sums for `step`, wait for every live rank (the barrier),
   * and receive the parameters of version step+1 in the same round trip. A repeated push for an
   * already-applied (rank, step) is not applied again; it returns the current parameters.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (bad parts), FAILED_PRECONDITION (rank evicted,
   * step ahead of the barrier), DEADLINE_EXCEEDED (the barrier did not fill in time), ABORTED (job ended).
   */
  PushPull: grpc.handleUnaryCall<_distrain_v1_PushPullRequest__Output, _distrain_v1_PushPullResponse>;
  
  /**
   * Sets the live ranks of a job's barrier (elastic eviction): a pending step completes with the
   * remaining ranks. Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (empty set).
   */
  SetMembers: grpc.handleUnaryCall<_distrain_v1_SetMembersRequest__Output, _distrain_v1_SetMembersResponse>;
  
  /**
   * Shard to shard, for clipping by global norm with several shards: the sender's partial sums of
   * squares of a step's mean gradient, one per trainable part it owns (plan order). Every shard sums
   * all partials in plan part order, so the norm equals one shard's. Idempotent.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT (bad shard index or count).
   */
  ShareNorms: grpc.handleUnaryCall<_distrain_v1_ShareNormsRequest__Output, _distrain_v1_ShareNormsResponse>;
  
}

export interface ParameterServerServiceDefinition extends grpc.ServiceDefinition {
  DataPlane: MethodDefinition<_distrain_v1_DataPlaneRequest, _distrain_v1_DataPlaneResponse, _distrain_v1_DataPlaneRequest__Output, _distrain_v1_DataPlaneResponse__Output>
  EndJob: MethodDefinition<_distrain_v1_EndJobRequest, _distrain_v1_EndJobResponse, _distrain_v1_EndJobRequest__Output, _distrain_v1_EndJobResponse__Output>
  ExchangeStats: MethodDefinition<_distrain_v1_ExchangeStatsRequest, _distrain_v1_ExchangeStatsResponse, _distrain_v1_ExchangeStatsRequest__Output, _distrain_v1_ExchangeStatsResponse__Output>
  InitJob: MethodDefinition<_distrain_v1_InitJobRequest, _distrain_v1_InitJobResponse, _distrain_v1_InitJobRequest__Output, _distrain_v1_InitJobResponse__Output>
  Pull: MethodDefinition<_distrain_v1_PullRequest, _distrain_v1_PullResponse, _distrain_v1_PullRequest__Output, _distrain_v1_PullResponse__Output>
  PushPull: MethodDefinition<_distrain_v1_PushPullRequest, _distrain_v1_PushPullResponse, _distrain_v1_PushPullRequest__Output, _distrain_v1_PushPullResponse__Output>
  SetMembers: MethodDefinition<_distrain_v1_SetMembersRequest, _distrain_v1_SetMembersResponse, _distrain_v1_SetMembersRequest__Output, _distrain_v1_SetMembersResponse__Output>
  ShareNorms: MethodDefinition<_distrain_v1_ShareNormsRequest, _distrain_v1_ShareNormsResponse, _distrain_v1_ShareNormsRequest__Output, _distrain_v1_ShareNormsResponse__Output>
}
