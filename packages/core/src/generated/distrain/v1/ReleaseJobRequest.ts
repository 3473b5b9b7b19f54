// Original file: proto/distrain/v1/data_loader.proto


export interface ReleaseJobRequest {
  'jobId'?: (string);
}

export interface ReleaseJobRequest__Output {
  'jobId': (string);
}
