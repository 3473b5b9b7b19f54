// Original file: proto/distrain/v1/parameter_server.proto

import type { LearningRateSchedule as _distrain_v1_LearningRateSchedule, LearningRateSchedule__Output as _distrain_v1_LearningRateSchedule__Output } from '../../distrain/v1/LearningRateSchedule.ts';

export interface OptimizerSpec {
  /**
   * "sgd", "momentum" or "adam".
   */
  'type'?: (string);
  'learningRate'?: (number | string);
  'momentum'?: (number | string);
  'nesterov'?: (boolean);
  'beta1'?: (number | string);
  'beta2'?: (number | string);
  'epsilon'?: (number | string);
  'weightDecay'?: (number | string);
  /**
   * "kernels" (empty means kernels: biases and normalization parameters are not decayed) or "all".
   */
  'weightDecayScope'?: (string);
  /**
   * Learning-rate schedule of the updates; absent: constant learning_rate.
   */
  'schedule'?: (_distrain_v1_LearningRateSchedule | null);
  /**
   * Clip the mean gradient of each step to this global L2 norm over all shards; 0: no clipping.
   */
  'clipNorm'?: (number | string);
}

export interface OptimizerSpec__Output {
  /**
   * "sgd", "momentum" or "adam".
   */
  'type': (string);
  'learningRate': (number);
  'momentum': (number);
  'nesterov': (boolean);
  'beta1': (number);
  'beta2': (number);
  'epsilon': (number);
  'weightDecay': (number);
  /**
   * "kernels" (empty means kernels: biases and normalization parameters are not decayed) or "all".
   */
  'weightDecayScope': (string);
  /**
   * Learning-rate schedule of the updates; absent: constant learning_rate.
   */
  'schedule': (_distrain_v1_LearningRateSchedule__Output | null);
  /**
   * Clip the mean gradient of each step to this global L2 norm over all shards; 0: no clipping.
   */
  'clipNorm': (number);
}
