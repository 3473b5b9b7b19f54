// Original file: proto/distrain/v1/coordinator.proto


export interface ExportModelRequest {
  'id'?: (string);
}

export interface ExportModelRequest__Output {
  'id': (string);
}
