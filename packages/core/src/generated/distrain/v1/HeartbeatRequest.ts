// Original file: proto/distrain/v1/coordinator.proto

import type { JobProgress as _distrain_v1_JobProgress, JobProgress__Output as _distrain_v1_JobProgress__Output } from '../../distrain/v1/JobProgress.ts';

export interface HeartbeatRequest {
  'jobId'?: (string);
  /**
   * "trainer" or "evaluator".
   */
  'role'?: (string);
  'rank'?: (number);
  'progress'?: (_distrain_v1_JobProgress | null);
  /**
   * "running", "done" or "failed".
   */
  'status'?: (string);
  'message'?: (string);
  /**
   * Compute backend the worker selected ("wasm", "tensorflow", "cpu").
   */
  'backend'?: (string);
  /**
   * Port of the worker's Prometheus /metrics endpoint (0: none); the coordinator lists it for
   * scraping (http service discovery at /sd/workers on its metrics port).
   */
  'metricsPort'?: (number);
}

export interface HeartbeatRequest__Output {
  'jobId': (string);
  /**
   * "trainer" or "evaluator".
   */
  'role': (string);
  'rank': (number);
  'progress': (_distrain_v1_JobProgress__Output | null);
  /**
   * "running", "done" or "failed".
   */
  'status': (string);
  'message': (string);
  /**
   * Compute backend the worker selected ("wasm", "tensorflow", "cpu").
   */
  'backend': (string);
  /**
   * Port of the worker's Prometheus /metrics endpoint (0: none); the coordinator lists it for
   * scraping (http service discovery at /sd/workers on its metrics port).
   */
  'metricsPort': (number);
}
