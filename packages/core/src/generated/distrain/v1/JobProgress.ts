// Original file: proto/distrain/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface JobProgress {
  'epoch'?: (number);
  'stepInEpoch'?: (number);
  'stepsPerEpoch'?: (number);
  'globalStep'?: (number | string | Long);
  'totalSteps'?: (number | string | Long);
  'loss'?: (number | string);
  'samplesPerSecond'?: (number | string);
  /**
   * Learning rate of the last applied update (the schedule at global_step - 1).
   */
  'learningRate'?: (number | string);
}

export interface JobProgress__Output {
  'epoch': (number);
  'stepInEpoch': (number);
  'stepsPerEpoch': (number);
  'globalStep': (number);
  'totalSteps': (number);
  'loss': (number);
  'samplesPerSecond': (number);
  /**
   * Learning rate of the last applied update (the schedule at global_step - 1).
   */
  'learningRate': (number);
}
