// Original file: proto/distrain/v1/coordinator.proto


export interface LogEvent {
  'level'?: (string);
  'source'?: (string);
  'message'?: (string);
}

export interface LogEvent__Output {
  'level': (string);
  'source': (string);
  'message': (string);
}
