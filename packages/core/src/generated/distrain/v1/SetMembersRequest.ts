// Original file: proto/distrain/v1/parameter_server.proto


export interface SetMembersRequest {
  'jobId'?: (string);
  'ranks'?: (number)[];
}

export interface SetMembersRequest__Output {
  'jobId': (string);
  'ranks': (number)[];
}
