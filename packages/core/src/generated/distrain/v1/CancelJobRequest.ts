// Original file: proto/distrain/v1/coordinator.proto


export interface CancelJobRequest {
  'id'?: (string);
  'reason'?: (string);
}

export interface CancelJobRequest__Output {
  'id': (string);
  'reason': (string);
}
