// Original file: proto/distrain/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { HeartbeatRequest as _distrain_v1_HeartbeatRequest, HeartbeatRequest__Output as _distrain_v1_HeartbeatRequest__Output } from '../../distrain/v1/HeartbeatRequest.ts';
import type { HeartbeatResponse as _distrain_v1_HeartbeatResponse, HeartbeatResponse__Output as _distrain_v1_HeartbeatResponse__Output } from '../../distrain/v1/HeartbeatResponse.ts';
import type { ReportEvaluationRequest as _distrain_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _distrain_v1_ReportEvaluationRequest__Output } from '../../distrain/v1/ReportEvaluationRequest.ts';
import type { ReportEvaluationResponse as _distrain_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _distrain_v1_ReportEvaluationResponse__Output } from '../../distrain/v1/ReportEvaluationResponse.ts';

/**
 * Trainers and the evaluator report to the coordinator.
 */
export interface WorkerServiceClient extends grpc.Client {
  /**
   * Liveness and progress of one worker; the answer tells the worker to stop when the job ended.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT.
   */
  Heartbeat(argument: _distrain_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _distrain_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _distrain_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _distrain_v1_HeartbeatRequest, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Liveness and progress of one worker; the answer tells the worker to stop when the job ended.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT.
   */
  heartbeat(argument: _distrain_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _distrain_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _distrain_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _distrain_v1_HeartbeatRequest, callback: grpc.requestCallback<_distrain_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * One epoch's evaluation, with the predictions CSV. Errors: NOT_FOUND.
   */
  ReportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * One epoch's evaluation, with the predictions CSV. Errors: NOT_FOUND.
   */
  reportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _distrain_v1_ReportEvaluationRequest, callback: grpc.requestCallback<_distrain_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Trainers and the evaluator report to the coordinator.
 */
export interface WorkerServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Liveness and progress of one worker; the answer tells the worker to stop when the job ended.
   * Errors: NOT_FOUND (unknown job), INVALID_ARGUMENT.
   */
  Heartbeat: grpc.handleUnaryCall<_distrain_v1_HeartbeatRequest__Output, _distrain_v1_HeartbeatResponse>;
  
  /**
   * One epoch's evaluation, with the predictions CSV. Errors: NOT_FOUND.
   */
  ReportEvaluation: grpc.handleUnaryCall<_distrain_v1_ReportEvaluationRequest__Output, _distrain_v1_ReportEvaluationResponse>;
  
}

export interface WorkerServiceDefinition extends grpc.ServiceDefinition {
  Heartbeat: MethodDefinition<_distrain_v1_HeartbeatRequest, _distrain_v1_HeartbeatResponse, _distrain_v1_HeartbeatRequest__Output, _distrain_v1_HeartbeatResponse__Output>
  ReportEvaluation: MethodDefinition<_distrain_v1_ReportEvaluationRequest, _distrain_v1_ReportEvaluationResponse, _distrain_v1_ReportEvaluationRequest__Output, _distrain_v1_ReportEvaluationResponse__Output>
}
