import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from './distrain/v1/NamedTensor.ts';
import type { Tensor as _distrain_v1_Tensor, Tensor__Output as _distrain_v1_Tensor__Output } from './distrain/v1/Tensor.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  distrain: {
    v1: {
      DType: EnumTypeDefinition
      NamedTensor: MessageTypeDefinition<_distrain_v1_NamedTensor, _distrain_v1_NamedTensor__Output>
      Tensor: MessageTypeDefinition<_distrain_v1_Tensor, _distrain_v1_Tensor__Output>
    }
  }
}

