// Original file: proto/distrain/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelJobRequest as _distrain_v1_CancelJobRequest, CancelJobRequest__Output as _distrain_v1_CancelJobRequest__Output } from '../../distrain/v1/CancelJobRequest.ts';
import type { CancelJobResponse as _distrain_v1_CancelJobResponse, CancelJobResponse__Output as _distrain_v1_CancelJobResponse__Output } from '../../distrain/v1/CancelJobResponse.ts';
import type { ExportModelRequest as _distrain_v1_ExportModelRequest, ExportModelRequest__Output as _distrain_v1_ExportModelRequest__Output } from '../../distrain/v1/ExportModelRequest.ts';
import type { GetJobRequest as _distrain_v1_GetJobRequest, GetJobRequest__Output as _distrain_v1_GetJobRequest__Output } from '../../distrain/v1/GetJobRequest.ts';
import type { GetJobResponse as _distrain_v1_GetJobResponse, GetJobResponse__Output as _distrain_v1_GetJobResponse__Output } from '../../distrain/v1/GetJobResponse.ts';
import type { GetPredictionsRequest as _distrain_v1_GetPredictionsRequest, GetPredictionsRequest__Output as _distrain_v1_GetPredictionsRequest__Output } from '../../distrain/v1/GetPredictionsRequest.ts';
import type { JobEvent as _distrain_v1_JobEvent, JobEvent__Output as _distrain_v1_JobEvent__Output } from '../../distrain/v1/JobEvent.ts';
import type { ListJobsRequest as _distrain_v1_ListJobsRequest, ListJobsRequest__Output as _distrain_v1_ListJobsRequest__Output } from '../../distrain/v1/ListJobsRequest.ts';
import type { ListJobsResponse as _distrain_v1_ListJobsResponse, ListJobsResponse__Output as _distrain_v1_ListJobsResponse__Output } from '../../distrain/v1/ListJobsResponse.ts';
import type { ModelFile as _distrain_v1_ModelFile, ModelFile__Output as _distrain_v1_ModelFile__Output } from '../../distrain/v1/ModelFile.ts';
import type { PredictionsChunk as _distrain_v1_PredictionsChunk, PredictionsChunk__Output as _distrain_v1_PredictionsChunk__Output } from '../../distrain/v1/PredictionsChunk.ts';
import type { SubmitJobRequest as _distrain_v1_SubmitJobRequest, SubmitJobRequest__Output as _distrain_v1_SubmitJobRequest__Output } from '../../distrain/v1/SubmitJobRequest.ts';
import type { SubmitJobResponse as _distrain_v1_SubmitJobResponse, SubmitJobResponse__Output as _distrain_v1_SubmitJobResponse__Output } from '../../distrain/v1/SubmitJobResponse.ts';
import type { WatchJobRequest as _distrain_v1_WatchJobRequest, WatchJobRequest__Output as _distrain_v1_WatchJobRequest__Output } from '../../distrain/v1/WatchJobRequest.ts';

/**
 * The user-facing job API.
 */
export interface JobServiceClient extends grpc.Client {
  /**
   * Stops a job; its workers are stopped and every service frees its state. Idempotent on an ended job.
   * Errors: NOT_FOUND.
   */
  CancelJob(argument: _distrain_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _distrain_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _distrain_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _distrain_v1_CancelJobRequest, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Stops a job; its workers are stopped and every service frees its state. Idempotent on an ended job.
   * Errors: NOT_FOUND.
   */
  cancelJob(argument: _distrain_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _distrain_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _distrain_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _distrain_v1_CancelJobRequest, callback: grpc.requestCallback<_distrain_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The trained model in TensorFlow.js layers format (model.json + weights.bin).
   * Errors: NOT_FOUND, FAILED_PRECONDITION (job has no parameters: not started or state freed).
   */
  ExportModel(argument: _distrain_v1_ExportModelRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_ModelFile__Output>;
  ExportModel(argument: _distrain_v1_ExportModelRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_ModelFile__Output>;
  /**
   * The trained model in TensorFlow.js layers format (model.json + weights.bin).
   * Errors: NOT_FOUND, FAILED_PRECONDITION (job has no parameters: not started or state freed).
   */
  exportModel(argument: _distrain_v1_ExportModelRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_ModelFile__Output>;
  exportModel(argument: _distrain_v1_ExportModelRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_ModelFile__Output>;
  
  /**
   * Errors: NOT_FOUND.
   */
  GetJob(argument: _distrain_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _distrain_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _distrain_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _distrain_v1_GetJobRequest, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Errors: NOT_FOUND.
   */
  getJob(argument: _distrain_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  getJob(argument: _distrain_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  getJob(argument: _distrain_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  getJob(argument: _distrain_v1_GetJobRequest, callback: grpc.requestCallback<_distrain_v1_GetJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The newest epoch's test-set predictions as CSV, in dataset order.
   * Errors: NOT_FOUND (unknown job), FAILED_PRECONDITION (no evaluation yet).
   */
  GetPredictions(argument: _distrain_v1_GetPredictionsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_PredictionsChunk__Output>;
  GetPredictions(argument: _distrain_v1_GetPredictionsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_PredictionsChunk__Output>;
  /**
   * The newest epoch's test-set predictions as CSV, in dataset order.
   * Errors: NOT_FOUND (unknown job), FAILED_PRECONDITION (no evaluation yet).
   */
  getPredictions(argument: _distrain_v1_GetPredictionsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_PredictionsChunk__Output>;
  getPredictions(argument: _distrain_v1_GetPredictionsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_PredictionsChunk__Output>;
  
  /**
   * Errors: INVALID_ARGUMENT (bad state filter).
   */
  ListJobs(argument: _distrain_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _distrain_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _distrain_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _distrain_v1_ListJobsRequest, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Errors: INVALID_ARGUMENT (bad state filter).
   */
  listJobs(argument: _distrain_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _distrain_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _distrain_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _distrain_v1_ListJobsRequest, callback: grpc.requestCallback<_distrain_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Validates and queues a TrainingJob (YAML or JSON text). Errors: INVALID_ARGUMENT naming the field
   * path and the fix; RESOURCE_EXHAUSTED when the coordinator's job limit is reached.
   */
  SubmitJob(argument: _distrain_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _distrain_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _distrain_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  SubmitJob(argument: _distrain_v1_SubmitJobRequest, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Validates and queues a TrainingJob (YAML or JSON text). Errors: INVALID_ARGUMENT naming the field
   * path and the fix; RESOURCE_EXHAUSTED when the coordinator's job limit is reached.
   */
  submitJob(argument: _distrain_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _distrain_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _distrain_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  submitJob(argument: _distrain_v1_SubmitJobRequest, callback: grpc.requestCallback<_distrain_v1_SubmitJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams the job's history (state changes, step progress, epoch results), then live events until
   * the job ends. Errors: NOT_FOUND.
   */
  WatchJob(argument: _distrain_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_JobEvent__Output>;
  WatchJob(argument: _distrain_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_JobEvent__Output>;
  /**
   * Streams the job's history (state changes, step progress, epoch results), then live events until
   * the job ends. Errors: NOT_FOUND.
   */
  watchJob(argument: _distrain_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_JobEvent__Output>;
  watchJob(argument: _distrain_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_JobEvent__Output>;
  
}

/**
 * The user-facing job API.
 */
export interface JobServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Stops a job; its workers are stopped and every service frees its state. Idempotent on an ended job.
   * Errors: NOT_FOUND.
   */
  CancelJob: grpc.handleUnaryCall<_distrain_v1_CancelJobRequest__Output, _distrain_v1_CancelJobResponse>;
  
  /**
   * The trained model in TensorFlow.js layers format (model.json + weights.bin).
   * Errors: NOT_FOUND, FAILED_PRECONDITION (job has no parameters: not started or state freed).
   */
  ExportModel: grpc.handleServerStreamingCall<_distrain_v1_ExportModelRequest__Output, _distrain_v1_ModelFile>;
  
  /**
   * Errors: NOT_FOUND.
   */
  GetJob: grpc.handleUnaryCall<_distrain_v1_GetJobRequest__Output, _distrain_v1_GetJobResponse>;
  
  /**
   * The newest epoch's test-set predictions as CSV, in dataset order.
   * Errors: NOT_FOUND (unknown job), FAILED_PRECONDITION (no evaluation yet).
   */
  GetPredictions: grpc.handleServerStreamingCall<_distrain_v1_GetPredictionsRequest__Output, _distrain_v1_PredictionsChunk>;
  
  /**
   * Errors: INVALID_ARGUMENT (bad state filter).
   */
  ListJobs: grpc.handleUnaryCall<_distrain_v1_ListJobsRequest__Output, _distrain_v1_ListJobsResponse>;
  
  /**
   * Validates and queues a TrainingJob (YAML or JSON text). Errors: INVALID_ARGUMENT naming the field
   * path and the fix; RESOURCE_EXHAUSTED when the coordinator's job limit is reached.
   */
  SubmitJob: grpc.handleUnaryCall<_distrain_v1_SubmitJobRequest__Output, _distrain_v1_SubmitJobResponse>;
  
  /**
   * Streams the job's history (state changes, step progress, epoch results), then live events until
   * the job ends. Errors: NOT_FOUND.
   */
  WatchJob: grpc.handleServerStreamingCall<_distrain_v1_WatchJobRequest__Output, _distrain_v1_JobEvent>;
  
}

export interface JobServiceDefinition extends grpc.ServiceDefinition {
  CancelJob: MethodDefinition<_distrain_v1_CancelJobRequest, _distrain_v1_CancelJobResponse, _distrain_v1_CancelJobRequest__Output, _distrain_v1_CancelJobResponse__Output>
  ExportModel: MethodDefinition<_distrain_v1_ExportModelRequest, _distrain_v1_ModelFile, _distrain_v1_ExportModelRequest__Output, _distrain_v1_ModelFile__Output>
  GetJob: MethodDefinition<_distrain_v1_GetJobRequest, _distrain_v1_GetJobResponse, _distrain_v1_GetJobRequest__Output, _distrain_v1_GetJobResponse__Output>
  GetPredictions: MethodDefinition<_distrain_v1_GetPredictionsRequest, _distrain_v1_PredictionsChunk, _distrain_v1_GetPredictionsRequest__Output, _distrain_v1_PredictionsChunk__Output>
  ListJobs: MethodDefinition<_distrain_v1_ListJobsRequest, _distrain_v1_ListJobsResponse, _distrain_v1_ListJobsRequest__Output, _distrain_v1_ListJobsResponse__Output>
  SubmitJob: MethodDefinition<_distrain_v1_SubmitJobRequest, _distrain_v1_SubmitJobResponse, _distrain_v1_SubmitJobRequest__Output, _distrain_v1_SubmitJobResponse__Output>
  WatchJob: MethodDefinition<_distrain_v1_WatchJobRequest, _distrain_v1_JobEvent, _distrain_v1_WatchJobRequest__Output, _distrain_v1_JobEvent__Output>
}
