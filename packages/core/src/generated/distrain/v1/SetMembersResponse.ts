// Original file: proto/distrain/v1/parameter_server.proto

import type { Long } from '@grpc/proto-loader';

export interface SetMembersResponse {
  'version'?: (number | string | Long);
}

export interface SetMembersResponse__Output {
  'version': (number);
}
