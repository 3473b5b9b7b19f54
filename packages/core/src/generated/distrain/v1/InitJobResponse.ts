// Original file: proto/distrain/v1/parameter_server.proto

import type { Long } from '@grpc/proto-loader';

export interface InitJobResponse {
  'version'?: (number | string | Long);
  'partCount'?: (number);
  /**
   * Epochs already completed (from a checkpoint), 0 for a fresh job.
   */
  'resumedEpochs'?: (number);
  /**
   * True when this call created the job's state (it was not held: a new job, or a restarted
   * shard); false for a repeat that found it held.
   */
  'created'?: (boolean);
  /**
   * The version of the checkpoint the held job state was loaded from (0: none, a fresh job).
   */
  'restoredVersion'?: (number | string | Long);
  /**
   * With `resume`: the versions of the checkpoints this shard's stores hold (oldest first), so the
   * coordinator can pick the newest version every shard holds.
   */
  'checkpointVersions'?: (number | string | Long)[];
}

export interface InitJobResponse__Output {
  'version': (number);
  'partCount': (number);
  /**
   * Epochs already completed (from a checkpoint), 0 for a fresh job.
   */
  'resumedEpochs': (number);
  /**
   * True when this call created the job's state (it was not held: a new job, or a restarted
   * shard); false for a repeat that found it held.
   */
  'created': (boolean);
  /**
   * The version of the checkpoint the held job state was loaded from (0: none, a fresh job).
   */
  'restoredVersion': (number);
  /**
   * With `resume`: the versions of the checkpoints this shard's stores hold (oldest first), so the
   * coordinator can pick the newest version every shard holds.
   */
  'checkpointVersions': (number)[];
}
