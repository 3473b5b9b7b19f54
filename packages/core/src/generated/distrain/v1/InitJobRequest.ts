// Original file: proto/distrain/v1/parameter_server.proto

import type { VariableSpec as _distrain_v1_VariableSpec, VariableSpec__Output as _distrain_v1_VariableSpec__Output } from '../../distrain/v1/VariableSpec.ts';
import type { OptimizerSpec as _distrain_v1_OptimizerSpec, OptimizerSpec__Output as _distrain_v1_OptimizerSpec__Output } from '../../distrain/v1/OptimizerSpec.ts';
import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from '../../distrain/v1/NamedTensor.ts';
import type { Long } from '@grpc/proto-loader';

export interface InitJobRequest {
  'jobId'?: (string);
  'seed'?: (number | string | Long);
  'variables'?: (_distrain_v1_VariableSpec)[];
  'optimizer'?: (_distrain_v1_OptimizerSpec | null);
  'worldSize'?: (number);
  'stepsPerEpoch'?: (number);
  'shardIndex'?: (number);
  'shardCount'?: (number);
  /**
   * Folder for per-epoch checkpoints of this shard; empty: no checkpoints.
   */
  'checkpointDir'?: (string);
  'resume'?: (boolean);
  /**
   * Largest part in bytes; 0 means 4 MB.
   */
  'maxPartBytes'?: (number);
  /**
   * host:port of every shard in shard order: shards exchange gradient norms (optimizer.clip_norm).
   */
  'shardAddresses'?: (string)[];
  /**
   * Whole-variable initial values that replace the seeded initializer (e.g. an embedding seeded
   * from pretrained vectors): float32, the variable's shape. Each shard keeps its own parts.
   */
  'initialValues'?: (_distrain_v1_NamedTensor)[];
}

export interface InitJobRequest__Output {
  'jobId': (string);
  'seed': (number);
  'variables': (_distrain_v1_VariableSpec__Output)[];
  'optimizer': (_distrain_v1_OptimizerSpec__Output | null);
  'worldSize': (number);
  'stepsPerEpoch': (number);
  'shardIndex': (number);
  'shardCount': (number);
  /**
   * Folder for per-epoch checkpoints of this shard; empty: no checkpoints.
   */
  'checkpointDir': (string);
  'resume': (boolean);
  /**
   * Largest part in bytes; 0 means 4 MB.
   */
  'maxPartBytes': (number);
  /**
   * host:port of every shard in shard order: shards exchange gradient norms (optimizer.clip_norm).
   */
  'shardAddresses': (string)[];
  /**
   * Whole-variable initial values that replace the seeded initializer (e.g. an embedding seeded
   * from pretrained vectors): float32, the variable's shape. Each shard keeps its own parts.
   */
  'initialValues': (_distrain_v1_NamedTensor__Output)[];
}
