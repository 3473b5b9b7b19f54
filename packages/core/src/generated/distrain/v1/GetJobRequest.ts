// Original file: proto/distrain/v1/coordinator.proto


export interface GetJobRequest {
  'id'?: (string);
}

export interface GetJobRequest__Output {
  'id': (string);
}
