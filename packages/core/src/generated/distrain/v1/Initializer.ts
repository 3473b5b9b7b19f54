// Original file: proto/distrain/v1/parameter_server.proto

/**
 * Initial values of a variable.
 */
export const Initializer = {
  INITIALIZER_UNSPECIFIED: 'INITIALIZER_UNSPECIFIED',
  INITIALIZER_GLOROT_UNIFORM: 'INITIALIZER_GLOROT_UNIFORM',
  INITIALIZER_HE_NORMAL: 'INITIALIZER_HE_NORMAL',
  INITIALIZER_ZEROS: 'INITIALIZER_ZEROS',
  INITIALIZER_ONES: 'INITIALIZER_ONES',
  /**
   * U(-0.05, 0.05) with the first row zero (an embedding's <pad> row).
   */
  INITIALIZER_EMBEDDING_UNIFORM: 'INITIALIZER_EMBEDDING_UNIFORM',
} as const;

/**
 * Initial values of a variable.
 */
export type Initializer =
  | 'INITIALIZER_UNSPECIFIED'
  | 0
  | 'INITIALIZER_GLOROT_UNIFORM'
  | 1
  | 'INITIALIZER_HE_NORMAL'
  | 2
  | 'INITIALIZER_ZEROS'
  | 3
  | 'INITIALIZER_ONES'
  | 4
  /**
   * U(-0.05, 0.05) with the first row zero (an embedding's <pad> row).
   */
  | 'INITIALIZER_EMBEDDING_UNIFORM'
  | 5

/**
 * Initial values of a variable.
 */
export type Initializer__Output = typeof Initializer[keyof typeof Initializer]
