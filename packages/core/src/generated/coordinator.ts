import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CancelJobRequest as _distrain_v1_CancelJobRequest, CancelJobRequest__Output as _distrain_v1_CancelJobRequest__Output } from './distrain/v1/CancelJobRequest.ts';
import type { CancelJobResponse as _distrain_v1_CancelJobResponse, CancelJobResponse__Output as _distrain_v1_CancelJobResponse__Output } from './distrain/v1/CancelJobResponse.ts';
import type { EvaluationResult as _distrain_v1_EvaluationResult, EvaluationResult__Output as _distrain_v1_EvaluationResult__Output } from './distrain/v1/EvaluationResult.ts';
import type { ExportModelRequest as _distrain_v1_ExportModelRequest, ExportModelRequest__Output as _distrain_v1_ExportModelRequest__Output } from './distrain/v1/ExportModelRequest.ts';
import type { GetJobRequest as _distrain_v1_GetJobRequest, GetJobRequest__Output as _distrain_v1_GetJobRequest__Output } from './distrain/v1/GetJobRequest.ts';
import type { GetJobResponse as _distrain_v1_GetJobResponse, GetJobResponse__Output as _distrain_v1_GetJobResponse__Output } from './distrain/v1/GetJobResponse.ts';
import type { GetPredictionsRequest as _distrain_v1_GetPredictionsRequest, GetPredictionsRequest__Output as _distrain_v1_GetPredictionsRequest__Output } from './distrain/v1/GetPredictionsRequest.ts';
import type { HeartbeatRequest as _distrain_v1_HeartbeatRequest, HeartbeatRequest__Output as _distrain_v1_HeartbeatRequest__Output } from './distrain/v1/HeartbeatRequest.ts';
import type { HeartbeatResponse as _distrain_v1_HeartbeatResponse, HeartbeatResponse__Output as _distrain_v1_HeartbeatResponse__Output } from './distrain/v1/HeartbeatResponse.ts';
import type { Job as _distrain_v1_Job, Job__Output as _distrain_v1_Job__Output } from './distrain/v1/Job.ts';
import type { JobEvent as _distrain_v1_JobEvent, JobEvent__Output as _distrain_v1_JobEvent__Output } from './distrain/v1/JobEvent.ts';
import type { JobProgress as _distrain_v1_JobProgress, JobProgress__Output as _distrain_v1_JobProgress__Output } from './distrain/v1/JobProgress.ts';
import type { JobServiceClient as _distrain_v1_JobServiceClient, JobServiceDefinition as _distrain_v1_JobServiceDefinition } from './distrain/v1/JobService.ts';
import type { ListJobsRequest as _distrain_v1_ListJobsRequest, ListJobsRequest__Output as _distrain_v1_ListJobsRequest__Output } from './distrain/v1/ListJobsRequest.ts';
import type { ListJobsResponse as _distrain_v1_ListJobsResponse, ListJobsResponse__Output as _distrain_v1_ListJobsResponse__Output } from './distrain/v1/ListJobsResponse.ts';
import type { LogEvent as _distrain_v1_LogEvent, LogEvent__Output as _distrain_v1_LogEvent__Output } from './distrain/v1/LogEvent.ts';
import type { ModelFile as _distrain_v1_ModelFile, ModelFile__Output as _distrain_v1_ModelFile__Output } from './distrain/v1/ModelFile.ts';
import type { PredictionsChunk as _distrain_v1_PredictionsChunk, PredictionsChunk__Output as _distrain_v1_PredictionsChunk__Output } from './distrain/v1/PredictionsChunk.ts';
import type { ReportEvaluationRequest as _distrain_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _distrain_v1_ReportEvaluationRequest__Output } from './distrain/v1/ReportEvaluationRequest.ts';
import type { ReportEvaluationResponse as _distrain_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _distrain_v1_ReportEvaluationResponse__Output } from './distrain/v1/ReportEvaluationResponse.ts';
import type { StateEvent as _distrain_v1_StateEvent, StateEvent__Output as _distrain_v1_StateEvent__Output } from './distrain/v1/StateEvent.ts';
import type { StepEvent as _distrain_v1_StepEvent, StepEvent__Output as _distrain_v1_StepEvent__Output } from './distrain/v1/StepEvent.ts';
import type { SubmitJobRequest as _distrain_v1_SubmitJobRequest, SubmitJobRequest__Output as _distrain_v1_SubmitJobRequest__Output } from './distrain/v1/SubmitJobRequest.ts';
import type { SubmitJobResponse as _distrain_v1_SubmitJobResponse, SubmitJobResponse__Output as _distrain_v1_SubmitJobResponse__Output } from './distrain/v1/SubmitJobResponse.ts';
import type { WatchJobRequest as _distrain_v1_WatchJobRequest, WatchJobRequest__Output as _distrain_v1_WatchJobRequest__Output } from './distrain/v1/WatchJobRequest.ts';
import type { WorkerServiceClient as _distrain_v1_WorkerServiceClient, WorkerServiceDefinition as _distrain_v1_WorkerServiceDefinition } from './distrain/v1/WorkerService.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  distrain: {
    v1: {
      CancelJobRequest: MessageTypeDefinition<_distrain_v1_CancelJobRequest, _distrain_v1_CancelJobRequest__Output>
      CancelJobResponse: MessageTypeDefinition<_distrain_v1_CancelJobResponse, _distrain_v1_CancelJobResponse__Output>
      EvaluationResult: MessageTypeDefinition<_distrain_v1_EvaluationResult, _distrain_v1_EvaluationResult__Output>
      ExportModelRequest: MessageTypeDefinition<_distrain_v1_ExportModelRequest, _distrain_v1_ExportModelRequest__Output>
      GetJobRequest: MessageTypeDefinition<_distrain_v1_GetJobRequest, _distrain_v1_GetJobRequest__Output>
      GetJobResponse: MessageTypeDefinition<_distrain_v1_GetJobResponse, _distrain_v1_GetJobResponse__Output>
      GetPredictionsRequest: MessageTypeDefinition<_distrain_v1_GetPredictionsRequest, _distrain_v1_GetPredictionsRequest__Output>
      HeartbeatRequest: MessageTypeDefinition<_distrain_v1_HeartbeatRequest, _distrain_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_distrain_v1_HeartbeatResponse, _distrain_v1_HeartbeatResponse__Output>
      Job: MessageTypeDefinition<_distrain_v1_Job, _distrain_v1_Job__Output>
      JobEvent: MessageTypeDefinition<_distrain_v1_JobEvent, _distrain_v1_JobEvent__Output>
      JobProgress: MessageTypeDefinition<_distrain_v1_JobProgress, _distrain_v1_JobProgress__Output>
      /**
       * The user-facing job API.
       */
      JobService: SubtypeConstructor<typeof grpc.Client, _distrain_v1_JobServiceClient> & { service: _distrain_v1_JobServiceDefinition }
      JobState: EnumTypeDefinition
      ListJobsRequest: MessageTypeDefinition<_distrain_v1_ListJobsRequest, _distrain_v1_ListJobsRequest__Output>
      ListJobsResponse: MessageTypeDefinition<_distrain_v1_ListJobsResponse, _distrain_v1_ListJobsResponse__Output>
      LogEvent: MessageTypeDefinition<_distrain_v1_LogEvent, _distrain_v1_LogEvent__Output>
      ModelFile: MessageTypeDefinition<_distrain_v1_ModelFile, _distrain_v1_ModelFile__Output>
      PredictionsChunk: MessageTypeDefinition<_distrain_v1_PredictionsChunk, _distrain_v1_PredictionsChunk__Output>
      ReportEvaluationRequest: MessageTypeDefinition<_distrain_v1_ReportEvaluationRequest, _distrain_v1_ReportEvaluationRequest__Output>
      ReportEvaluationResponse: MessageTypeDefinition<_distrain_v1_ReportEvaluationResponse, _distrain_v1_ReportEvaluationResponse__Output>
      StateEvent: MessageTypeDefinition<_distrain_v1_StateEvent, _distrain_v1_StateEvent__Output>
      StepEvent: MessageTypeDefinition<_distrain_v1_StepEvent, _distrain_v1_StepEvent__Output>
      SubmitJobRequest: MessageTypeDefinition<_distrain_v1_SubmitJobRequest, _distrain_v1_SubmitJobRequest__Output>
      SubmitJobResponse: MessageTypeDefinition<_distrain_v1_SubmitJobResponse, _distrain_v1_SubmitJobResponse__Output>
      WatchJobRequest: MessageTypeDefinition<_distrain_v1_WatchJobRequest, _distrain_v1_WatchJobRequest__Output>
      /**
       * Trainers and the evaluator report to the coordinator.
       */
      WorkerService: SubtypeConstructor<typeof grpc.Client, _distrain_v1_WorkerServiceClient> & { service: _distrain_v1_WorkerServiceDefinition }
    }
  }
}

