// Original file: proto/distrain/v1/coordinator.proto

import type { JobState as _distrain_v1_JobState, JobState__Output as _distrain_v1_JobState__Output } from '../../distrain/v1/JobState.ts';

export interface ListJobsRequest {
  /**
   * Only jobs in this state; unspecified: all.
   */
  'state'?: (_distrain_v1_JobState);
}

export interface ListJobsRequest__Output {
  /**
   * Only jobs in this state; unspecified: all.
   */
  'state': (_distrain_v1_JobState__Output);
}
