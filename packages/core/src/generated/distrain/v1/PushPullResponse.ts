// Original file: proto/distrain/v1/parameter_server.proto

import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from '../../distrain/v1/NamedTensor.ts';
import type { Long } from '@grpc/proto-loader';

export interface PushPullResponse {
  'version'?: (number | string | Long);
  /**
   * Every part of this shard at `version`.
   */
  'params'?: (_distrain_v1_NamedTensor)[];
  /**
   * Mean loss over all ranks of the step.
   */
  'meanLoss'?: (number | string);
  /**
   * Ranks that took part in the step.
   */
  'ranks'?: (number);
  /**
   * Seconds this push spent in the shard, from its arrival to its answer (barrier wait included):
   * the trainer's step breakdown subtracts it from the round trip to get the transfer time.
   */
  'serverSeconds'?: (number | string);
  /**
   * Seconds the shard took to aggregate and apply the step (0 for an already applied step).
   */
  'applySeconds'?: (number | string);
  /**
   * With ack_only: the sum modulo 2^32 of the bit patterns (as uint32) of every float32 of this
   * shard's parts at `version`, so the caller can check its own copy is still bit-identical.
   */
  'paramsChecksum'?: (number);
}

export interface PushPullResponse__Output {
  'version': (number);
  /**
   * Every part of this shard at `version`.
   */
  'params': (_distrain_v1_NamedTensor__Output)[];
  /**
   * Mean loss over all ranks of the step.
   */
  'meanLoss': (number);
  /**
   * Ranks that took part in the step.
   */
  'ranks': (number);
  /**
   * Seconds this push spent in the shard, from its arrival to its answer (barrier wait included):
   * the trainer's step breakdown subtracts it from the round trip to get the transfer time.
   */
  'serverSeconds': (number);
  /**
   * Seconds the shard took to aggregate and apply the step (0 for an already applied step).
   */
  'applySeconds': (number);
  /**
   * With ack_only: the sum modulo 2^32 of the bit patterns (as uint32) of every float32 of this
   * shard's parts at `version`, so the caller can check its own copy is still bit-identical.
   */
  'paramsChecksum': (number);
}
