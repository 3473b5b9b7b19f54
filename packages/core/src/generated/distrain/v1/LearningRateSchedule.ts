// Original file: proto/distrain/v1/parameter_server.proto


/**
 * A learning-rate schedule with every default resolved by the coordinator (see ps/schedule.ts).
 */
export interface LearningRateSchedule {
  /**
   * "constant", "step", "exponential" or "cosine".
   */
  'type'?: (string);
  'warmupSteps'?: (number);
  'stepSize'?: (number);
  'gamma'?: (number | string);
  'decaySteps'?: (number);
  'minLearningRate'?: (number | string);
}

/**
 * A learning-rate schedule with every default resolved by the coordinator (see ps/schedule.ts).
 */
export interface LearningRateSchedule__Output {
  /**
   * "constant", "step", "exponential" or "cosine".
   */
  'type': (string);
  'warmupSteps': (number);
  'stepSize': (number);
  'gamma': (number);
  'decaySteps': (number);
  'minLearningRate': (number);
}
