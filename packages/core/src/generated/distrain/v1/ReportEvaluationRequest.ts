// Original file: proto/distrain/v1/coordinator.proto

import type { EvaluationResult as _distrain_v1_EvaluationResult, EvaluationResult__Output as _distrain_v1_EvaluationResult__Output } from '../../distrain/v1/EvaluationResult.ts';

export interface ReportEvaluationRequest {
  'jobId'?: (string);
  'result'?: (_distrain_v1_EvaluationResult | null);
  'predictionsCsv'?: (Buffer | Uint8Array | string);
}

export interface ReportEvaluationRequest__Output {
  'jobId': (string);
  'result': (_distrain_v1_EvaluationResult__Output | null);
  'predictionsCsv': (Buffer);
}
