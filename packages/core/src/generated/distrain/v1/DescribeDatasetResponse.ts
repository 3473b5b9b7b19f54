// Original file: proto/distrain/v1/data_loader.proto

import type { DType as _distrain_v1_DType, DType__Output as _distrain_v1_DType__Output } from '../../distrain/v1/DType.ts';

export interface DescribeDatasetResponse {
  /**
   * Canonical key of the dataset in the loader's cache.
   */
  'datasetId'?: (string);
  'trainCount'?: (number);
  'testCount'?: (number);
  /**
   * Shape of one sample, e.g. [28, 28, 1].
   */
  'featureShape'?: (number)[];
  /**
   * dtype of features on the wire (uint8 images, float32 tabular data).
   */
  'featureDtype'?: (_distrain_v1_DType);
  'numClasses'?: (number);
  'classNames'?: (string)[];
  /**
   * Trainers multiply features by this after casting to float32 (1/255 for uint8 images).
   */
  'featureScale'?: (number | string);
}

export interface DescribeDatasetResponse__Output {
  /**
   * Canonical key of the dataset in the loader's cache.
   */
  'datasetId': (string);
  'trainCount': (number);
  'testCount': (number);
  /**
   * Shape of one sample, e.g. [28, 28, 1].
   */
  'featureShape': (number)[];
  /**
   * dtype of features on the wire (uint8 images, float32 tabular data).
   */
  'featureDtype': (_distrain_v1_DType__Output);
  'numClasses': (number);
  'classNames': (string)[];
  /**
   * Trainers multiply features by this after casting to float32 (1/255 for uint8 images).
   */
  'featureScale': (number);
}
