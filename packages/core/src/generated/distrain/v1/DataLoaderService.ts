// Original file: proto/distrain/v1/data_loader.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeDatasetRequest as _distrain_v1_DescribeDatasetRequest, DescribeDatasetRequest__Output as _distrain_v1_DescribeDatasetRequest__Output } from '../../distrain/v1/DescribeDatasetRequest.ts';
import type { DescribeDatasetResponse as _distrain_v1_DescribeDatasetResponse, DescribeDatasetResponse__Output as _distrain_v1_DescribeDatasetResponse__Output } from '../../distrain/v1/DescribeDatasetResponse.ts';
import type { ReleaseJobRequest as _distrain_v1_ReleaseJobRequest, ReleaseJobRequest__Output as _distrain_v1_ReleaseJobRequest__Output } from '../../distrain/v1/ReleaseJobRequest.ts';
import type { ReleaseJobResponse as _distrain_v1_ReleaseJobResponse, ReleaseJobResponse__Output as _distrain_v1_ReleaseJobResponse__Output } from '../../distrain/v1/ReleaseJobResponse.ts';
import type { StreamBatchesRequest as _distrain_v1_StreamBatchesRequest, StreamBatchesRequest__Output as _distrain_v1_StreamBatchesRequest__Output } from '../../distrain/v1/StreamBatchesRequest.ts';
import type { StreamBatchesResponse as _distrain_v1_StreamBatchesResponse, StreamBatchesResponse__Output as _distrain_v1_StreamBatchesResponse__Output } from '../../distrain/v1/StreamBatchesResponse.ts';

/**
 * The data-loader reads datasets once, caches them decoded, and streams batches to trainers and
 * the evaluator.
 */
export interface DataLoaderServiceClient extends grpc.Client {
  /**
   * Describes a dataset: sample counts per split, feature shape and dtype, classes.
   * Errors: INVALID_ARGUMENT (bad dataset spec), NOT_FOUND (unknown dataset or missing files),
   * FAILED_PRECONDITION (unreadable or corrupt files; the message names the file).
   */
  DescribeDataset(argument: _distrain_v1_DescribeDatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  DescribeDataset(argument: _distrain_v1_DescribeDatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  DescribeDataset(argument: _distrain_v1_DescribeDatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  DescribeDataset(argument: _distrain_v1_DescribeDatasetRequest, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Describes a dataset: sample counts per split, feature shape and dtype, classes.
   * Errors: INVALID_ARGUMENT (bad dataset spec), NOT_FOUND (unknown dataset or missing files),
   * FAILED_PRECONDITION (unreadable or corrupt files; the message names the file).
   */
  describeDataset(argument: _distrain_v1_DescribeDatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  describeDataset(argument: _distrain_v1_DescribeDatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  describeDataset(argument: _distrain_v1_DescribeDatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  describeDataset(argument: _distrain_v1_DescribeDatasetRequest, callback: grpc.requestCallback<_distrain_v1_DescribeDatasetResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Forgets everything held for one job (open streams are cancelled). Idempotent.
   * Errors: INVALID_ARGUMENT (empty job id).
   */
  ReleaseJob(argument: _distrain_v1_ReleaseJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  ReleaseJob(argument: _distrain_v1_ReleaseJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  ReleaseJob(argument: _distrain_v1_ReleaseJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  ReleaseJob(argument: _distrain_v1_ReleaseJobRequest, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Forgets everything held for one job (open streams are cancelled). Idempotent.
   * Errors: INVALID_ARGUMENT (empty job id).
   */
  releaseJob(argument: _distrain_v1_ReleaseJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _distrain_v1_ReleaseJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _distrain_v1_ReleaseJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  releaseJob(argument: _distrain_v1_ReleaseJobRequest, callback: grpc.requestCallback<_distrain_v1_ReleaseJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Streams rank `rank`'s slice of each global batch of one epoch of one split, from `start_step`.
   * The sequence of global batches depends only on (seed, epoch), never on world_size. The train
   * split is shuffled per epoch with a seeded permutation; the test split is never shuffled.
   * Errors: INVALID_ARGUMENT (batch size, rank, world size, steps), NOT_FOUND (unknown dataset),
   * FAILED_PRECONDITION (corrupt files), CANCELLED when the client cancels.
   */
  StreamBatches(argument: _distrain_v1_StreamBatchesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_StreamBatchesResponse__Output>;
  StreamBatches(argument: _distrain_v1_StreamBatchesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_StreamBatchesResponse__Output>;
  /**
   * Streams rank `rank`'s slice of each global batch of one epoch of one split, from `start_step`.
   * The sequence of global batches depends only on (seed, epoch), never on world_size. The train
   * split is shuffled per epoch with a seeded permutation; the test split is never shuffled.
   * Errors: INVALID_ARGUMENT (batch size, rank, world size, steps), NOT_FOUND (unknown dataset),
   * FAILED_PRECONDITION (corrupt files), CANCELLED when the client cancels.
   */
  streamBatches(argument: _distrain_v1_StreamBatchesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_StreamBatchesResponse__Output>;
  streamBatches(argument: _distrain_v1_StreamBatchesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_distrain_v1_StreamBatchesResponse__Output>;
  
}

/**
 * The data-loader reads datasets once, caches them decoded, and streams batches to trainers and
 * the evaluator.
 */
export interface DataLoaderServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Describes a dataset: sample counts per split, feature shape and dtype, classes.
   * Errors: INVALID_ARGUMENT (bad dataset spec), NOT_FOUND (unknown dataset or missing files),
   * FAILED_PRECONDITION (unreadable or corrupt files; the message names the file).
   */
  DescribeDataset: grpc.handleUnaryCall<_distrain_v1_DescribeDatasetRequest__Output, _distrain_v1_DescribeDatasetResponse>;
  
  /**
   * Forgets everything held for one job (open streams are cancelled). Idempotent.
   * Errors: INVALID_ARGUMENT (empty job id).
   */
  ReleaseJob: grpc.handleUnaryCall<_distrain_v1_ReleaseJobRequest__Output, _distrain_v1_ReleaseJobResponse>;
  
  /**
   * Streams rank `rank`'s slice of each global batch of one epoch of one split, from `start_step`.
   * The sequence of global batches depends only on (seed, epoch), never on world_size. The train
   * split is shuffled per epoch with a seeded permutation; the test split is never shuffled.
   * Errors: INVALID_ARGUMENT (batch size, rank, world size, steps), NOT_FOUND (unknown dataset),
   * FAILED_PRECONDITION (corrupt files), CANCELLED when the client cancels.
   */
  StreamBatches: grpc.handleServerStreamingCall<_distrain_v1_StreamBatchesRequest__Output, _distrain_v1_StreamBatchesResponse>;
  
}

export interface DataLoaderServiceDefinition extends grpc.ServiceDefinition {
  DescribeDataset: MethodDefinition<_distrain_v1_DescribeDatasetRequest, _distrain_v1_DescribeDatasetResponse, _distrain_v1_DescribeDatasetRequest__Output, _distrain_v1_DescribeDatasetResponse__Output>
  ReleaseJob: MethodDefinition<_distrain_v1_ReleaseJobRequest, _distrain_v1_ReleaseJobResponse, _distrain_v1_ReleaseJobRequest__Output, _distrain_v1_ReleaseJobResponse__Output>
  StreamBatches: MethodDefinition<_distrain_v1_StreamBatchesRequest, _distrain_v1_StreamBatchesResponse, _distrain_v1_StreamBatchesRequest__Output, _distrain_v1_StreamBatchesResponse__Output>
}
