// Original file: proto/distrain/v1/parameter_server.proto

import type { Long } from '@grpc/proto-loader';

export interface EndJobResponse {
  /**
   * Bytes of parameters and optimizer state freed.
   */
  'freedBytes'?: (number | string | Long);
}

export interface EndJobResponse__Output {
  /**
   * Bytes of parameters and optimizer state freed.
   */
  'freedBytes': (number);
}
