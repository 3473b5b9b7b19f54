// Original file: proto/distrain/v1/parameter_server.proto


export interface DataPlaneResponse {
  /**
   * TCP port of the data plane on the shard's host; 0 when the shard has none.
   */
  'port'?: (number);
  /**
   * "zmq", or empty when the shard has no data plane.
   */
  'transport'?: (string);
}

export interface DataPlaneResponse__Output {
  /**
   * TCP port of the data plane on the shard's host; 0 when the shard has none.
   */
  'port': (number);
  /**
   * "zmq", or empty when the shard has no data plane.
   */
  'transport': (string);
}
