// Original file: proto/distrain/v1/parameter_server.proto

import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from '../../distrain/v1/NamedTensor.ts';
import type { Long } from '@grpc/proto-loader';

export interface PushPullRequest {
  'jobId'?: (string);
  'rank'?: (number);
  /**
   * Global step (counted across epochs); applying it yields version step+1.
   */
  'step'?: (number | string | Long);
  /**
   * Samples behind the gradient sums (the rank's slice size; 0 for an empty slice).
   */
  'sampleCount'?: (number);
  /**
   * Sums (not means) of the loss gradient over the rank's samples, one per part of this shard.
   */
  'grads'?: (_distrain_v1_NamedTensor)[];
  /**
   * Non-trainable values after the rank's forward pass (batch-norm moving statistics).
   */
  'states'?: (_distrain_v1_NamedTensor)[];
  /**
   * Sum of the loss over the rank's samples, for progress reporting.
   */
  'lossSum'?: (number | string);
  /**
   * Answer without the parameters (params left empty) and with params_checksum instead: the caller,
   * the job's only trainer, applied the same step with the same optimizer itself.
   */
  'ackOnly'?: (boolean);
}

export interface PushPullRequest__Output {
  'jobId': (string);
  'rank': (number);
  /**
   * Global step (counted across epochs); applying it yields version step+1.
   */
  'step': (number);
  /**
   * Samples behind the gradient sums (the rank's slice size; 0 for an empty slice).
   */
  'sampleCount': (number);
  /**
   * Sums (not means) of the loss gradient over the rank's samples, one per part of this shard.
   */
  'grads': (_distrain_v1_NamedTensor__Output)[];
  /**
   * Non-trainable values after the rank's forward pass (batch-norm moving statistics).
   */
  'states': (_distrain_v1_NamedTensor__Output)[];
  /**
   * Sum of the loss over the rank's samples, for progress reporting.
   */
  'lossSum': (number);
  /**
   * Answer without the parameters (params left empty) and with params_checksum instead: the caller,
   * the job's only trainer, applied the same step with the same optimizer itself.
   */
  'ackOnly': (boolean);
}
