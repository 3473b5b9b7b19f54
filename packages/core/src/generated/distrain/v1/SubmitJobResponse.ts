// Original file: proto/distrain/v1/coordinator.proto

import type { Job as _distrain_v1_Job, Job__Output as _distrain_v1_Job__Output } from '../../distrain/v1/Job.ts';

export interface SubmitJobResponse {
  'job'?: (_distrain_v1_Job | null);
}

export interface SubmitJobResponse__Output {
  'job': (_distrain_v1_Job__Output | null);
}
