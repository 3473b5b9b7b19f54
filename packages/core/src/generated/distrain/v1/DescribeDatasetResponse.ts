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
  /**
   * Text datasets: the vocabulary (index = token id, "<pad>" = 0, "<unk>" = 1), sent when asked.
   */
  'vocabulary'?: (string)[];
  /**
   * Text datasets: the first 80 characters of each test text, in dataset order, sent when asked.
   */
  'testTexts'?: (string)[];
  /**
   * Text datasets: corpus statistics as JSON (files, dropped entries by reason, entries per class
   * and split, truncated samples, unknown-token rate).
   */
  'textStatsJson'?: (string);
  /**
   * Text datasets: vocabulary size (also when the vocabulary itself is not sent).
   */
  'vocabularySize'?: (number);
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
  /**
   * Text datasets: the vocabulary (index = token id, "<pad>" = 0, "<unk>" = 1), sent when asked.
   */
  'vocabulary': (string)[];
  /**
   * Text datasets: the first 80 characters of each test text, in dataset order, sent when asked.
   */
  'testTexts': (string)[];
  /**
   * Text datasets: corpus statistics as JSON (files, dropped entries by reason, entries per class
   * and split, truncated samples, unknown-token rate).
   */
  'textStatsJson': (string);
  /**
   * Text datasets: vocabulary size (also when the vocabulary itself is not sent).
   */
  'vocabularySize': (number);
}
