// Original file: proto/distrain/v1/coordinator.proto

import type { StateEvent as _distrain_v1_StateEvent, StateEvent__Output as _distrain_v1_StateEvent__Output } from '../../distrain/v1/StateEvent.ts';
import type { StepEvent as _distrain_v1_StepEvent, StepEvent__Output as _distrain_v1_StepEvent__Output } from '../../distrain/v1/StepEvent.ts';
import type { EvaluationResult as _distrain_v1_EvaluationResult, EvaluationResult__Output as _distrain_v1_EvaluationResult__Output } from '../../distrain/v1/EvaluationResult.ts';
import type { LogEvent as _distrain_v1_LogEvent, LogEvent__Output as _distrain_v1_LogEvent__Output } from '../../distrain/v1/LogEvent.ts';
import type { Long } from '@grpc/proto-loader';

export interface JobEvent {
  'jobId'?: (string);
  'timeMs'?: (number | string | Long);
  /**
   * Position in the job's event history.
   */
  'sequence'?: (number | string | Long);
  'state'?: (_distrain_v1_StateEvent | null);
  'step'?: (_distrain_v1_StepEvent | null);
  'epoch'?: (_distrain_v1_EvaluationResult | null);
  'log'?: (_distrain_v1_LogEvent | null);
  'event'?: "state"|"step"|"epoch"|"log";
}

export interface JobEvent__Output {
  'jobId': (string);
  'timeMs': (number);
  /**
   * Position in the job's event history.
   */
  'sequence': (number);
  'state'?: (_distrain_v1_StateEvent__Output | null);
  'step'?: (_distrain_v1_StepEvent__Output | null);
  'epoch'?: (_distrain_v1_EvaluationResult__Output | null);
  'log'?: (_distrain_v1_LogEvent__Output | null);
  'event'?: "state"|"step"|"epoch"|"log";
}
