// Original file: proto/distrain/v1/coordinator.proto


export interface HeartbeatResponse {
  /**
   * The job has ended or this worker was evicted: stop now.
   */
  'stop'?: (boolean);
  'reason'?: (string);
}

export interface HeartbeatResponse__Output {
  /**
   * The job has ended or this worker was evicted: stop now.
   */
  'stop': (boolean);
  'reason': (string);
}
