// Original file: proto/distrain/v1/parameter_server.proto

import type { Initializer as _distrain_v1_Initializer, Initializer__Output as _distrain_v1_Initializer__Output } from '../../distrain/v1/Initializer.ts';

export interface VariableSpec {
  /**
   * Stable name, e.g. "dense_1/kernel"; optimizer slots are "<name>/m" and "<name>/v".
   */
  'name'?: (string);
  'shape'?: (number)[];
  'initializer'?: (_distrain_v1_Initializer);
  'fanIn'?: (number);
  'fanOut'?: (number);
  /**
   * false: state such as batch-norm moving statistics, averaged over ranks instead of optimized.
   */
  'trainable'?: (boolean);
}

export interface VariableSpec__Output {
  /**
   * Stable name, e.g. "dense_1/kernel"; optimizer slots are "<name>/m" and "<name>/v".
   */
  'name': (string);
  'shape': (number)[];
  'initializer': (_distrain_v1_Initializer__Output);
  'fanIn': (number);
  'fanOut': (number);
  /**
   * false: state such as batch-norm moving statistics, averaged over ranks instead of optimized.
   */
  'trainable': (boolean);
}
