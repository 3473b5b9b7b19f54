// Original file: proto/distrain/v1/data_loader.proto

import type { DatasetSpec as _distrain_v1_DatasetSpec, DatasetSpec__Output as _distrain_v1_DatasetSpec__Output } from '../../distrain/v1/DatasetSpec.ts';
import type { Split as _distrain_v1_Split, Split__Output as _distrain_v1_Split__Output } from '../../distrain/v1/Split.ts';
import type { Long } from '@grpc/proto-loader';

export interface StreamBatchesRequest {
  'jobId'?: (string);
  'dataset'?: (_distrain_v1_DatasetSpec | null);
  'split'?: (_distrain_v1_Split);
  'epoch'?: (number);
  'rank'?: (number);
  'worldSize'?: (number);
  'globalBatchSize'?: (number);
  'seed'?: (number | string | Long);
  /**
   * First global step (within the epoch) to send; used to resume after a reconnect.
   */
  'startStep'?: (number);
  /**
   * One past the last step to send; 0 means the end of the epoch.
   */
  'endStep'?: (number);
}

export interface StreamBatchesRequest__Output {
  'jobId': (string);
  'dataset': (_distrain_v1_DatasetSpec__Output | null);
  'split': (_distrain_v1_Split__Output);
  'epoch': (number);
  'rank': (number);
  'worldSize': (number);
  'globalBatchSize': (number);
  'seed': (number);
  /**
   * First global step (within the epoch) to send; used to resume after a reconnect.
   */
  'startStep': (number);
  /**
   * One past the last step to send; 0 means the end of the epoch.
   */
  'endStep': (number);
}
