// Original file: proto/distrain/v1/parameter_server.proto

import type { Long } from '@grpc/proto-loader';

export interface ExchangeStatsRequest {
  'jobId'?: (string);
  'rank'?: (number);
  /**
   * Global step the statistics belong to (the step being computed, = the shard's version).
   */
  'step'?: (number | string | Long);
  /**
   * Which exchange of the step: 2k for batch-norm layer k's forward statistics, 2k+1 for its
   * backward sums.
   */
  'slot'?: (number);
  'values'?: (number | string)[];
}

export interface ExchangeStatsRequest__Output {
  'jobId': (string);
  'rank': (number);
  /**
   * Global step the statistics belong to (the step being computed, = the shard's version).
   */
  'step': (number);
  /**
   * Which exchange of the step: 2k for batch-norm layer k's forward statistics, 2k+1 for its
   * backward sums.
   */
  'slot': (number);
  'values': (number)[];
}
