// Original file: proto/distrain/v1/parameter_server.proto


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
}
