// Original file: proto/distrain/v1/tensor.proto

/**
 * Element type of a Tensor's raw data.
 */
export const DType = {
  DTYPE_UNSPECIFIED: 'DTYPE_UNSPECIFIED',
  DTYPE_FLOAT32: 'DTYPE_FLOAT32',
  DTYPE_INT32: 'DTYPE_INT32',
  DTYPE_UINT8: 'DTYPE_UINT8',
} as const;

/**
 * Element type of a Tensor's raw data.
 */
export type DType =
  | 'DTYPE_UNSPECIFIED'
  | 0
  | 'DTYPE_FLOAT32'
  | 1
  | 'DTYPE_INT32'
  | 2
  | 'DTYPE_UINT8'
  | 3

/**
 * Element type of a Tensor's raw data.
 */
export type DType__Output = typeof DType[keyof typeof DType]
