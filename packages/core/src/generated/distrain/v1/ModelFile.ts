// Original file: proto/distrain/v1/coordinator.proto


export interface ModelFile {
  /**
   * "model.json" or "weights.bin".
   */
  'name'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface ModelFile__Output {
  /**
   * "model.json" or "weights.bin".
   */
  'name': (string);
  'data': (Buffer);
}
