import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DataPlaneRequest as _distrain_v1_DataPlaneRequest, DataPlaneRequest__Output as _distrain_v1_DataPlaneRequest__Output } from './distrain/v1/DataPlaneRequest.ts';
import type { DataPlaneResponse as _distrain_v1_DataPlaneResponse, DataPlaneResponse__Output as _distrain_v1_DataPlaneResponse__Output } from './distrain/v1/DataPlaneResponse.ts';
import type { EndJobRequest as _distrain_v1_EndJobRequest, EndJobRequest__Output as _distrain_v1_EndJobRequest__Output } from './distrain/v1/EndJobRequest.ts';
import type { EndJobResponse as _distrain_v1_EndJobResponse, EndJobResponse__Output as _distrain_v1_EndJobResponse__Output } from './distrain/v1/EndJobResponse.ts';
import type { ExchangeStatsRequest as _distrain_v1_ExchangeStatsRequest, ExchangeStatsRequest__Output as _distrain_v1_ExchangeStatsRequest__Output } from './distrain/v1/ExchangeStatsRequest.ts';
import type { ExchangeStatsResponse as _distrain_v1_ExchangeStatsResponse, ExchangeStatsResponse__Output as _distrain_v1_ExchangeStatsResponse__Output } from './distrain/v1/ExchangeStatsResponse.ts';
import type { InitJobRequest as _distrain_v1_InitJobRequest, InitJobRequest__Output as _distrain_v1_InitJobRequest__Output } from './distrain/v1/InitJobRequest.ts';
import type { InitJobResponse as _distrain_v1_InitJobResponse, InitJobResponse__Output as _distrain_v1_InitJobResponse__Output } from './distrain/v1/InitJobResponse.ts';
import type { LearningRateSchedule as _distrain_v1_LearningRateSchedule, LearningRateSchedule__Output as _distrain_v1_LearningRateSchedule__Output } from './distrain/v1/LearningRateSchedule.ts';
import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from './distrain/v1/NamedTensor.ts';
import type { OptimizerSpec as _distrain_v1_OptimizerSpec, OptimizerSpec__Output as _distrain_v1_OptimizerSpec__Output } from './distrain/v1/OptimizerSpec.ts';
import type { ParameterServerServiceClient as _distrain_v1_ParameterServerServiceClient, ParameterServerServiceDefinition as _distrain_v1_ParameterServerServiceDefinition } from './distrain/v1/ParameterServerService.ts';
import type { PullRequest as _distrain_v1_PullRequest, PullRequest__Output as _distrain_v1_PullRequest__Output } from './distrain/v1/PullRequest.ts';
import type { PullResponse as _distrain_v1_PullResponse, PullResponse__Output as _distrain_v1_PullResponse__Output } from './distrain/v1/PullResponse.ts';
import type { PushPullRequest as _distrain_v1_PushPullRequest, PushPullRequest__Output as _distrain_v1_PushPullRequest__Output } from './distrain/v1/PushPullRequest.ts';
import type { PushPullResponse as _distrain_v1_PushPullResponse, PushPullResponse__Output as _distrain_v1_PushPullResponse__Output } from './distrain/v1/PushPullResponse.ts';
import type { SetMembersRequest as _distrain_v1_SetMembersRequest, SetMembersRequest__Output as _distrain_v1_SetMembersRequest__Output } from './distrain/v1/SetMembersRequest.ts';
import type { SetMembersResponse as _distrain_v1_SetMembersResponse, SetMembersResponse__Output as _distrain_v1_SetMembersResponse__Output } from './distrain/v1/SetMembersResponse.ts';
import type { ShareNormsRequest as _distrain_v1_ShareNormsRequest, ShareNormsRequest__Output as _distrain_v1_ShareNormsRequest__Output } from './distrain/v1/ShareNormsRequest.ts';
import type { ShareNormsResponse as _distrain_v1_ShareNormsResponse, ShareNormsResponse__Output as _distrain_v1_ShareNormsResponse__Output } from './distrain/v1/ShareNormsResponse.ts';
import type { Tensor as _distrain_v1_Tensor, Tensor__Output as _distrain_v1_Tensor__Output } from './distrain/v1/Tensor.ts';
import type { VariableSpec as _distrain_v1_VariableSpec, VariableSpec__Output as _distrain_v1_VariableSpec__Output } from './distrain/v1/VariableSpec.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  distrain: {
    v1: {
      DType: EnumTypeDefinition
      DataPlaneRequest: MessageTypeDefinition<_distrain_v1_DataPlaneRequest, _distrain_v1_DataPlaneRequest__Output>
      DataPlaneResponse: MessageTypeDefinition<_distrain_v1_DataPlaneResponse, _distrain_v1_DataPlaneResponse__Output>
      EndJobRequest: MessageTypeDefinition<_distrain_v1_EndJobRequest, _distrain_v1_EndJobRequest__Output>
      EndJobResponse: MessageTypeDefinition<_distrain_v1_EndJobResponse, _distrain_v1_EndJobResponse__Output>
      ExchangeStatsRequest: MessageTypeDefinition<_distrain_v1_ExchangeStatsRequest, _distrain_v1_ExchangeStatsRequest__Output>
      ExchangeStatsResponse: MessageTypeDefinition<_distrain_v1_ExchangeStatsResponse, _distrain_v1_ExchangeStatsResponse__Output>
      InitJobRequest: MessageTypeDefinition<_distrain_v1_InitJobRequest, _distrain_v1_InitJobRequest__Output>
      InitJobResponse: MessageTypeDefinition<_distrain_v1_InitJobResponse, _distrain_v1_InitJobResponse__Output>
      Initializer: EnumTypeDefinition
      LearningRateSchedule: MessageTypeDefinition<_distrain_v1_LearningRateSchedule, _distrain_v1_LearningRateSchedule__Output>
      NamedTensor: MessageTypeDefinition<_distrain_v1_NamedTensor, _distrain_v1_NamedTensor__Output>
      OptimizerSpec: MessageTypeDefinition<_distrain_v1_OptimizerSpec, _distrain_v1_OptimizerSpec__Output>
      /**
       * One parameter-server shard. A job's variables are cut into parts of at most 4 MB and the parts
       * are spread across shards by a deterministic plan that every trainer, the evaluator and every
       * shard compute from the same variable list (see the core library's `partitionPlan`).
       */
      ParameterServerService: SubtypeConstructor<typeof grpc.Client, _distrain_v1_ParameterServerServiceClient> & { service: _distrain_v1_ParameterServerServiceDefinition }
      PullRequest: MessageTypeDefinition<_distrain_v1_PullRequest, _distrain_v1_PullRequest__Output>
      PullResponse: MessageTypeDefinition<_distrain_v1_PullResponse, _distrain_v1_PullResponse__Output>
      PushPullRequest: MessageTypeDefinition<_distrain_v1_PushPullRequest, _distrain_v1_PushPullRequest__Output>
      PushPullResponse: MessageTypeDefinition<_distrain_v1_PushPullResponse, _distrain_v1_PushPullResponse__Output>
      SetMembersRequest: MessageTypeDefinition<_distrain_v1_SetMembersRequest, _distrain_v1_SetMembersRequest__Output>
      SetMembersResponse: MessageTypeDefinition<_distrain_v1_SetMembersResponse, _distrain_v1_SetMembersResponse__Output>
      ShareNormsRequest: MessageTypeDefinition<_distrain_v1_ShareNormsRequest, _distrain_v1_ShareNormsRequest__Output>
      ShareNormsResponse: MessageTypeDefinition<_distrain_v1_ShareNormsResponse, _distrain_v1_ShareNormsResponse__Output>
      Tensor: MessageTypeDefinition<_distrain_v1_Tensor, _distrain_v1_Tensor__Output>
      VariableSpec: MessageTypeDefinition<_distrain_v1_VariableSpec, _distrain_v1_VariableSpec__Output>
    }
  }
}

