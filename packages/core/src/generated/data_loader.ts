import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DataLoaderServiceClient as _distrain_v1_DataLoaderServiceClient, DataLoaderServiceDefinition as _distrain_v1_DataLoaderServiceDefinition } from './distrain/v1/DataLoaderService.ts';
import type { DatasetSpec as _distrain_v1_DatasetSpec, DatasetSpec__Output as _distrain_v1_DatasetSpec__Output } from './distrain/v1/DatasetSpec.ts';
import type { DescribeDatasetRequest as _distrain_v1_DescribeDatasetRequest, DescribeDatasetRequest__Output as _distrain_v1_DescribeDatasetRequest__Output } from './distrain/v1/DescribeDatasetRequest.ts';
import type { DescribeDatasetResponse as _distrain_v1_DescribeDatasetResponse, DescribeDatasetResponse__Output as _distrain_v1_DescribeDatasetResponse__Output } from './distrain/v1/DescribeDatasetResponse.ts';
import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from './distrain/v1/NamedTensor.ts';
import type { ReleaseJobRequest as _distrain_v1_ReleaseJobRequest, ReleaseJobRequest__Output as _distrain_v1_ReleaseJobRequest__Output } from './distrain/v1/ReleaseJobRequest.ts';
import type { ReleaseJobResponse as _distrain_v1_ReleaseJobResponse, ReleaseJobResponse__Output as _distrain_v1_ReleaseJobResponse__Output } from './distrain/v1/ReleaseJobResponse.ts';
import type { StreamBatchesRequest as _distrain_v1_StreamBatchesRequest, StreamBatchesRequest__Output as _distrain_v1_StreamBatchesRequest__Output } from './distrain/v1/StreamBatchesRequest.ts';
import type { StreamBatchesResponse as _distrain_v1_StreamBatchesResponse, StreamBatchesResponse__Output as _distrain_v1_StreamBatchesResponse__Output } from './distrain/v1/StreamBatchesResponse.ts';
import type { Tensor as _distrain_v1_Tensor, Tensor__Output as _distrain_v1_Tensor__Output } from './distrain/v1/Tensor.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  distrain: {
    v1: {
      DType: EnumTypeDefinition
      /**
       * The data-loader reads datasets once, caches them decoded, and streams batches to trainers and
       * the evaluator.
       */
      DataLoaderService: SubtypeConstructor<typeof grpc.Client, _distrain_v1_DataLoaderServiceClient> & { service: _distrain_v1_DataLoaderServiceDefinition }
      DatasetSpec: MessageTypeDefinition<_distrain_v1_DatasetSpec, _distrain_v1_DatasetSpec__Output>
      DescribeDatasetRequest: MessageTypeDefinition<_distrain_v1_DescribeDatasetRequest, _distrain_v1_DescribeDatasetRequest__Output>
      DescribeDatasetResponse: MessageTypeDefinition<_distrain_v1_DescribeDatasetResponse, _distrain_v1_DescribeDatasetResponse__Output>
      NamedTensor: MessageTypeDefinition<_distrain_v1_NamedTensor, _distrain_v1_NamedTensor__Output>
      ReleaseJobRequest: MessageTypeDefinition<_distrain_v1_ReleaseJobRequest, _distrain_v1_ReleaseJobRequest__Output>
      ReleaseJobResponse: MessageTypeDefinition<_distrain_v1_ReleaseJobResponse, _distrain_v1_ReleaseJobResponse__Output>
      Split: EnumTypeDefinition
      StreamBatchesRequest: MessageTypeDefinition<_distrain_v1_StreamBatchesRequest, _distrain_v1_StreamBatchesRequest__Output>
      StreamBatchesResponse: MessageTypeDefinition<_distrain_v1_StreamBatchesResponse, _distrain_v1_StreamBatchesResponse__Output>
      Tensor: MessageTypeDefinition<_distrain_v1_Tensor, _distrain_v1_Tensor__Output>
    }
  }
}

