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
}

export interface JobProgress__Output {
  'epoch': (number);
  'stepInEpoch': (number);
  'stepsPerEpoch': (number);
  'globalStep': (number);
  'totalSteps': (number);
  'loss': (number);
  'samplesPerSecond': (number);
}
