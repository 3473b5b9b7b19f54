// Original file: proto/distrain/v1/parameter_server.proto


export interface PullRequest {
  'jobId'?: (string);
  /**
   * 0: the current parameters; e >= 1: the snapshot taken at the end of epoch e.
   */
  'epoch'?: (number);
  /**
   * Release the snapshot after this pull (the evaluator is its only reader).
   */
  'release'?: (boolean);
}

export interface PullRequest__Output {
  'jobId': (string);
  /**
   * 0: the current parameters; e >= 1: the snapshot taken at the end of epoch e.
   */
  'epoch': (number);
  /**
   * Release the snapshot after this pull (the evaluator is its only reader).
   */
  'release': (boolean);
}
