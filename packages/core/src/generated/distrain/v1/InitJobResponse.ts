// Original file: proto/distrain/v1/parameter_server.proto

import type { Long } from '@grpc/proto-loader';

export interface InitJobResponse {
  'version'?: (number | string | Long);
  'partCount'?: (number);
  /**
   * Epochs already completed (from a checkpoint), 0 for a fresh job.
   */
  'resumedEpochs'?: (number);
}

export interface InitJobResponse__Output {
  'version': (number);
  'partCount': (number);
  /**
   * Epochs already completed (from a checkpoint), 0 for a fresh job.
   */
  'resumedEpochs': (number);
}
