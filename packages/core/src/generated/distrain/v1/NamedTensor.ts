// Original file: proto/distrain/v1/tensor.proto

import type { Tensor as _distrain_v1_Tensor, Tensor__Output as _distrain_v1_Tensor__Output } from '../../distrain/v1/Tensor.ts';

/**
 * A tensor with a stable name (a model variable, or one part of it).
 */
export interface NamedTensor {
  'name'?: (string);
  'tensor'?: (_distrain_v1_Tensor | null);
}

/**
 * A tensor with a stable name (a model variable, or one part of it).
 */
export interface NamedTensor__Output {
  'name': (string);
  'tensor': (_distrain_v1_Tensor__Output | null);
}
