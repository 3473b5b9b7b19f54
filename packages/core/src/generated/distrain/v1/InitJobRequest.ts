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
   * Folder for this job's checkpoints (the shard adds `shard-<index>`); empty: the shard's own
   * `--checkpoint-dir` (plus `<job id>/shard-<index>`), or no folder.
   */
  'checkpointDir'?: (string);
  /**
   * Load the newest checkpoint (or the one at `resume_version`) when the job is not held yet.
   */
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
  /**
   * Write a checkpoint every this many applied steps, besides each epoch end; 0: epoch ends only.
   */
  'checkpointEverySteps'?: (number);
  /**
   * With `rollback`: the version the job must be at. A held job at another version is dropped
   * (waiting pushes end with ABORTED) and rebuilt from the checkpoint at exactly this version
   * (0: the fresh initial state); FAILED_PRECONDITION when no store holds it. The coordinator uses
   * it to bring every shard of a job to one version after a shard restarted.
   */
  'resumeVersion'?: (number | string | Long);
  'rollback'?: (boolean);
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
   * Folder for this job's checkpoints (the shard adds `shard-<index>`); empty: the shard's own
   * `--checkpoint-dir` (plus `<job id>/shard-<index>`), or no folder.
   */
  'checkpointDir': (string);
  /**
   * Load the newest checkpoint (or the one at `resume_version`) when the job is not held yet.
   */
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
  /**
   * Write a checkpoint every this many applied steps, besides each epoch end; 0: epoch ends only.
   */
  'checkpointEverySteps': (number);
  /**
   * With `rollback`: the version the job must be at. A held job at another version is dropped
   * (waiting pushes end with ABORTED) and rebuilt from the checkpoint at exactly this version
   * (0: the fresh initial state); FAILED_PRECONDITION when no store holds it. The coordinator uses
   * it to bring every shard of a job to one version after a shard restarted.
   */
  'resumeVersion': (number);
  'rollback': (boolean);
}
