// Original file: proto/distrain/v1/tensor.proto

import type { DType as _distrain_v1_DType, DType__Output as _distrain_v1_DType__Output } from '../../distrain/v1/DType.ts';

/**
 * A dense tensor. `data` holds the elements as raw little-endian bytes in C (row-major) order;
 * its length is product(shape) * sizeof(dtype). Never `repeated float`: packed varints/floats are
 * slow to decode in JavaScript, raw bytes are a zero-copy view.
 */
export interface Tensor {
  'dtype'?: (_distrain_v1_DType);
  'shape'?: (number)[];
  'data'?: (Buffer | Uint8Array | string);
}

/**
 * A dense tensor. `data` holds the elements as raw little-endian bytes in C (row-major) order;
 * its length is product(shape) * sizeof(dtype). Never `repeated float`: packed varints/floats are
 * slow to decode in JavaScript, raw bytes are a zero-copy view.
 */
export interface Tensor__Output {
  'dtype': (_distrain_v1_DType__Output);
  'shape': (number)[];
  'data': (Buffer);
}
