// Original file: proto/distrain/v1/evaluator.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What the evaluator computes after each epoch, on the unshuffled test split, in eval mode
 * (dropout off, batch-norm inference) and without gradients.
 */
export interface EvaluationResult {
  'epoch'?: (number);
  /**
   * Parameter version the evaluation used (the end of the epoch).
   */
  'version'?: (number | string | Long);
  'testAccuracy'?: (number | string);
  'testLoss'?: (number | string);
  'numSamples'?: (number);
  /**
   * Accuracy per class, in class order.
   */
  'perClassAccuracy'?: (number | string)[];
  /**
   * Confusion matrix, row = true class, column = predicted class, row-major, num_classes^2 entries.
   */
  'confusion'?: (number)[];
  'numClasses'?: (number);
  /**
   * Wall time of the epoch's training (from the trainers), and of the evaluation itself.
   */
  'trainSeconds'?: (number | string);
  'evalSeconds'?: (number | string);
  /**
   * Regression datasets (float targets): test_loss is the mean squared error, this the mean absolute
   * error, and test_accuracy is 0.
   */
  'regression'?: (boolean);
  'testMae'?: (number | string);
  /**
   * Unix ms when the epoch's last step was applied (the parameter server's snapshot time; 0: unknown).
   */
  'epochEndMs'?: (number | string | Long);
}

/**
 * What the evaluator computes after each epoch, on the unshuffled test split, in eval mode
 * (dropout off, batch-norm inference) and without gradients.
 */
export interface EvaluationResult__Output {
  'epoch': (number);
  /**
   * Parameter version the evaluation used (the end of the epoch).
   */
  'version': (number);
  'testAccuracy': (number);
  'testLoss': (number);
  'numSamples': (number);
  /**
   * Accuracy per class, in class order.
   */
  'perClassAccuracy': (number)[];
  /**
   * Confusion matrix, row = true class, column = predicted class, row-major, num_classes^2 entries.
   */
  'confusion': (number)[];
  'numClasses': (number);
  /**
   * Wall time of the epoch's training (from the trainers), and of the evaluation itself.
   */
  'trainSeconds': (number);
  'evalSeconds': (number);
  /**
   * Regression datasets (float targets): test_loss is the mean squared error, this the mean absolute
   * error, and test_accuracy is 0.
   */
  'regression': (boolean);
  'testMae': (number);
  /**
   * Unix ms when the epoch's last step was applied (the parameter server's snapshot time; 0: unknown).
   */
  'epochEndMs': (number);
}
