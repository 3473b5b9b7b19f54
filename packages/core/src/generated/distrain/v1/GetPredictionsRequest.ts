// Original file: proto/distrain/v1/coordinator.proto


export interface GetPredictionsRequest {
  'id'?: (string);
}

export interface GetPredictionsRequest__Output {
  'id': (string);
}
