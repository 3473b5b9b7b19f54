// Original file: proto/distrain/v1/data_loader.proto


export interface ReleaseJobResponse {
  /**
   * Streams that were still open and have been cancelled.
   */
  'cancelledStreams'?: (number);
}

export interface ReleaseJobResponse__Output {
  /**
   * Streams that were still open and have been cancelled.
   */
  'cancelledStreams': (number);
}
