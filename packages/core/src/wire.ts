/** The generated wire types services and clients use (see proto/distrain/v1). */
export type { Tensor, Tensor__Output } from './generated/distrain/v1/Tensor.ts';
export type { NamedTensor, NamedTensor__Output } from './generated/distrain/v1/NamedTensor.ts';
export type { DatasetSpec, DatasetSpec__Output } from './generated/distrain/v1/DatasetSpec.ts';
export type { DescribeDatasetResponse__Output } from './generated/distrain/v1/DescribeDatasetResponse.ts';
export type { StreamBatchesRequest } from './generated/distrain/v1/StreamBatchesRequest.ts';
export type { StreamBatchesResponse__Output } from './generated/distrain/v1/StreamBatchesResponse.ts';
export type {
  DataLoaderServiceClient,
  DataLoaderServiceHandlers,
} from './generated/distrain/v1/DataLoaderService.ts';
export type {
  ParameterServerServiceClient,
  ParameterServerServiceHandlers,
} from './generated/distrain/v1/ParameterServerService.ts';
export type { JobServiceClient, JobServiceHandlers } from './generated/distrain/v1/JobService.ts';
export type { WorkerServiceClient, WorkerServiceHandlers } from './generated/distrain/v1/WorkerService.ts';
export type { Job, Job__Output } from './generated/distrain/v1/Job.ts';
export type { JobState, JobState__Output } from './generated/distrain/v1/JobState.ts';
export type { JobProgress, JobProgress__Output } from './generated/distrain/v1/JobProgress.ts';
export type { JobEvent, JobEvent__Output } from './generated/distrain/v1/JobEvent.ts';
export type { EvaluationResult, EvaluationResult__Output } from './generated/distrain/v1/EvaluationResult.ts';
export type { HeartbeatRequest__Output } from './generated/distrain/v1/HeartbeatRequest.ts';
export type { ModelFile__Output } from './generated/distrain/v1/ModelFile.ts';
export type { DescribeDatasetRequest__Output } from './generated/distrain/v1/DescribeDatasetRequest.ts';
export type { DescribeDatasetResponse } from './generated/distrain/v1/DescribeDatasetResponse.ts';
export type { ReleaseJobRequest__Output } from './generated/distrain/v1/ReleaseJobRequest.ts';
export type { ReleaseJobResponse } from './generated/distrain/v1/ReleaseJobResponse.ts';
export type { StreamBatchesRequest__Output } from './generated/distrain/v1/StreamBatchesRequest.ts';
export type { StreamBatchesResponse } from './generated/distrain/v1/StreamBatchesResponse.ts';
export type { StateEvent__Output } from './generated/distrain/v1/StateEvent.ts';
export type { StepEvent__Output } from './generated/distrain/v1/StepEvent.ts';
export type { LogEvent__Output } from './generated/distrain/v1/LogEvent.ts';
