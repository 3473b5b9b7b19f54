// Original file: proto/distrain/v1/coordinator.proto

import type { JobState as _distrain_v1_JobState, JobState__Output as _distrain_v1_JobState__Output } from '../../distrain/v1/JobState.ts';
import type { JobProgress as _distrain_v1_JobProgress, JobProgress__Output as _distrain_v1_JobProgress__Output } from '../../distrain/v1/JobProgress.ts';
import type { EvaluationResult as _distrain_v1_EvaluationResult, EvaluationResult__Output as _distrain_v1_EvaluationResult__Output } from '../../distrain/v1/EvaluationResult.ts';
import type { Long } from '@grpc/proto-loader';

export interface Job {
  'id'?: (string);
  'name'?: (string);
  'state'?: (_distrain_v1_JobState);
  /**
   * Why the job failed or was cancelled.
   */
  'reason'?: (string);
  /**
   * The validated spec, as JSON, with defaults and overrides applied.
   */
  'specJson'?: (string);
  'createdAtMs'?: (number | string | Long);
  'startedAtMs'?: (number | string | Long);
  'finishedAtMs'?: (number | string | Long);
  'trainers'?: (number);
  'backend'?: (string);
  'progress'?: (_distrain_v1_JobProgress | null);
  'epochs'?: (_distrain_v1_EvaluationResult)[];
  /**
   * Training wall time of the completed epochs (from when the last trainer was ready, i.e. its first
   * heartbeat, to the last applied step: one trainer's wait for another's start-up is not training),
   * and their samples.
   */
  'trainSeconds'?: (number | string);
  'trainSamples'?: (number | string | Long);
}

export interface Job__Output {
  'id': (string);
  'name': (string);
  'state': (_distrain_v1_JobState__Output);
  /**
   * Why the job failed or was cancelled.
   */
  'reason': (string);
  /**
   * The validated spec, as JSON, with defaults and overrides applied.
   */
  'specJson': (string);
  'createdAtMs': (number);
  'startedAtMs': (number);
  'finishedAtMs': (number);
  'trainers': (number);
  'backend': (string);
  'progress': (_distrain_v1_JobProgress__Output | null);
  'epochs': (_distrain_v1_EvaluationResult__Output)[];
  /**
   * Training wall time of the completed epochs (from when the last trainer was ready, i.e. its first
   * heartbeat, to the last applied step: one trainer's wait for another's start-up is not training),
   * and their samples.
   */
  'trainSeconds': (number);
  'trainSamples': (number);
}
