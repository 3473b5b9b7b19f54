// Original file: proto/distrain/v1/parameter_server.proto


export interface EndJobRequest {
  'jobId'?: (string);
}

export interface EndJobRequest__Output {
  'jobId': (string);
}
