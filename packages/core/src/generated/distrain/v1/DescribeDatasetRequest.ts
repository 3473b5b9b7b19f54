// Original file: proto/distrain/v1/data_loader.proto

import type { DatasetSpec as _distrain_v1_DatasetSpec, DatasetSpec__Output as _distrain_v1_DatasetSpec__Output } from '../../distrain/v1/DatasetSpec.ts';

export interface DescribeDatasetRequest {
  'dataset'?: (_distrain_v1_DatasetSpec | null);
  /**
   * Text datasets: also return the vocabulary and the test split's texts (large; the coordinator
   * asks once per job).
   */
  'includeText'?: (boolean);
}

export interface DescribeDatasetRequest__Output {
  'dataset': (_distrain_v1_DatasetSpec__Output | null);
  /**
   * Text datasets: also return the vocabulary and the test split's texts (large; the coordinator
   * asks once per job).
   */
  'includeText': (boolean);
}
