// Original file: proto/distrain/v1/data_loader.proto

/**
 * Which part of a dataset.
 */
export const Split = {
  SPLIT_UNSPECIFIED: 'SPLIT_UNSPECIFIED',
  SPLIT_TRAIN: 'SPLIT_TRAIN',
  SPLIT_TEST: 'SPLIT_TEST',
} as const;

/**
 * Which part of a dataset.
 */
export type Split =
  | 'SPLIT_UNSPECIFIED'
  | 0
  | 'SPLIT_TRAIN'
  | 1
  | 'SPLIT_TEST'
  | 2

/**
 * Which part of a dataset.
 */
export type Split__Output = typeof Split[keyof typeof Split]
