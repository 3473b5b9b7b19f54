// Original file: proto/distrain/v1/coordinator.proto

import type { JobProgress as _distrain_v1_JobProgress, JobProgress__Output as _distrain_v1_JobProgress__Output } from '../../distrain/v1/JobProgress.ts';

export interface StepEvent {
  'rank'?: (number);
  'progress'?: (_distrain_v1_JobProgress | null);
}

export interface StepEvent__Output {
  'rank': (number);
  'progress': (_distrain_v1_JobProgress__Output | null);
}
