// Original file: proto/distrain/v1/parameter_server.proto

import type { NamedTensor as _distrain_v1_NamedTensor, NamedTensor__Output as _distrain_v1_NamedTensor__Output } from '../../distrain/v1/NamedTensor.ts';
import type { Long } from '@grpc/proto-loader';

export interface PullResponse {
  'version'?: (number | string | Long);
  'params'?: (_distrain_v1_NamedTensor)[];
  /**
   * A snapshot's time: Unix ms when the shard applied the epoch's last step (0 for epoch 0, the
   * current parameters). The evaluator reports it so epoch durations survive a coordinator restart.
   */
  'snapshotTimeMs'?: (number | string | Long);
}

export interface PullResponse__Output {
  'version': (number);
  'params': (_distrain_v1_NamedTensor__Output)[];
  /**
   * A snapshot's time: Unix ms when the shard applied the epoch's last step (0 for epoch 0, the
   * current parameters). The evaluator reports it so epoch durations survive a coordinator restart.
   */
  'snapshotTimeMs': (number);
}
