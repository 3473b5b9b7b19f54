/**
 * How a variable starts. Kernels use Glorot or He (never zeros); biases zeros; BN gamma ones;
 * embeddings U(-0.05, 0.05) with row 0 (`<pad>`) zero.
 */
export type InitializerName = 'glorotUniform' | 'heNormal' | 'zeros' | 'ones' | 'embeddingUniform';

/**
 * One model variable as every role sees it: the trainer's model, the parameter server's storage and
 * the evaluator agree on this list (same names, same order) because it is derived from the spec.
 */
export interface VariableInfo {
  /** Stable name, `<layer>/<weight>`, e.g. `l0_dense/kernel`; independent of tfjs's global name counters. */
  name: string;
  shape: number[];
  initializer: InitializerName;
  fanIn: number;
  fanOut: number;
  /** false for state such as batch-norm moving statistics: averaged over ranks, not optimized. */
  trainable: boolean;
}

/** Parameters by variable name, flat C-order float32. */
export type ParamMap = Map<string, Float32Array>;
