// Original file: proto/distrain/v1/coordinator.proto


export interface WatchJobRequest {
  'id'?: (string);
}

export interface WatchJobRequest__Output {
  'id': (string);
}
