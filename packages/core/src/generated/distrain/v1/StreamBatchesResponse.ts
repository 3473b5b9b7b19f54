// Original file: proto/distrain/v1/data_loader.proto

import type { Tensor as _distrain_v1_Tensor, Tensor__Output as _distrain_v1_Tensor__Output } from '../../distrain/v1/Tensor.ts';

/**
 * Rank `rank`'s contiguous slice of global batch `step` of `epoch`.
 */
export interface StreamBatchesResponse {
  'epoch'?: (number);
  'step'?: (number);
  'stepsInEpoch'?: (number);
  /**
   * Samples in the whole global batch (the last one of an epoch may be short).
   */
  'globalBatchSize'?: (number);
  /**
   * [n, ...feature_shape], dtype as described.
   */
  'features'?: (_distrain_v1_Tensor | null);
  /**
   * [n] int32 class indices (float32 targets for regression CSVs).
   */
  'labels'?: (_distrain_v1_Tensor | null);
  /**
   * Dataset indices of the n samples, in the same order.
   */
  'indices'?: (number)[];
  /**
   * Offset of this slice inside the global batch.
   */
  'offset'?: (number);
  /**
   * Text datasets: real (unpadded) tokens of each sample, in the same order as `indices`.
   */
  'lengths'?: (number)[];
  /**
   * Zero bytes the data-loader writes (before `features` and before `labels`, so possibly twice)
   * so that tensor data lands 4-byte aligned where grpc-js hands the message over, and the receiver
   * can view float32/int32 data in place instead of copying it. Carries nothing; ignore it.
   */
  'alignmentPadding'?: (Buffer | Uint8Array | string);
}

/**
 * Rank `rank`'s contiguous slice of global batch `step` of `epoch`.
 */
export interface StreamBatchesResponse__Output {
  'epoch': (number);
  'step': (number);
  'stepsInEpoch': (number);
  /**
   * Samples in the whole global batch (the last one of an epoch may be short).
   */
  'globalBatchSize': (number);
  /**
   * [n, ...feature_shape], dtype as described.
   */
  'features': (_distrain_v1_Tensor__Output | null);
  /**
   * [n] int32 class indices (float32 targets for regression CSVs).
   */
  'labels': (_distrain_v1_Tensor__Output | null);
  /**
   * Dataset indices of the n samples, in the same order.
   */
  'indices': (number)[];
  /**
   * Offset of this slice inside the global batch.
   */
  'offset': (number);
  /**
   * Text datasets: real (unpadded) tokens of each sample, in the same order as `indices`.
   */
  'lengths': (number)[];
  /**
   * Zero bytes the data-loader writes (before `features` and before `labels`, so possibly twice)
   * so that tensor data lands 4-byte aligned where grpc-js hands the message over, and the receiver
   * can view float32/int32 data in place instead of copying it. Carries nothing; ignore it.
   */
  'alignmentPadding': (Buffer);
}
