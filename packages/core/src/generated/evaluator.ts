import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { EvaluationResult as _distrain_v1_EvaluationResult, EvaluationResult__Output as _distrain_v1_EvaluationResult__Output } from './distrain/v1/EvaluationResult.ts';
import type { PredictionsChunk as _distrain_v1_PredictionsChunk, PredictionsChunk__Output as _distrain_v1_PredictionsChunk__Output } from './distrain/v1/PredictionsChunk.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  distrain: {
    v1: {
      EvaluationResult: MessageTypeDefinition<_distrain_v1_EvaluationResult, _distrain_v1_EvaluationResult__Output>
      PredictionsChunk: MessageTypeDefinition<_distrain_v1_PredictionsChunk, _distrain_v1_PredictionsChunk__Output>
    }
  }
}

