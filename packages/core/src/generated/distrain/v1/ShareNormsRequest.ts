// Original file: proto/distrain/v1/parameter_server.proto

import type { Long } from '@grpc/proto-loader';

export interface ShareNormsRequest {
  'jobId'?: (string);
  'step'?: (number | string | Long);
  'shardIndex'?: (number);
  'sumSquares'?: (number | string)[];
}

export interface ShareNormsRequest__Output {
  'jobId': (string);
  'step': (number);
  'shardIndex': (number);
  'sumSquares': (number)[];
}
