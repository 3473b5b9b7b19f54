// Original file: proto/distrain/v1/evaluator.proto


/**
 * A piece of the predictions CSV (`index,label,predicted,p0,p1,...`, rows in dataset order).
 */
export interface PredictionsChunk {
  'data'?: (Buffer | Uint8Array | string);
}

/**
 * A piece of the predictions CSV (`index,label,predicted,p0,p1,...`, rows in dataset order).
 */
export interface PredictionsChunk__Output {
  'data': (Buffer);
}
