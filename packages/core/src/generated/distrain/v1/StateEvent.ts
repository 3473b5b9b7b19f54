// Original file: proto/distrain/v1/coordinator.proto

import type { JobState as _distrain_v1_JobState, JobState__Output as _distrain_v1_JobState__Output } from '../../distrain/v1/JobState.ts';

export interface StateEvent {
  'state'?: (_distrain_v1_JobState);
  'reason'?: (string);
}

export interface StateEvent__Output {
  'state': (_distrain_v1_JobState__Output);
  'reason': (string);
}
