import { ValidationError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { sizeOf } from '../tensor-codec.ts';
import type { ParamMap, VariableInfo } from '../variables.ts';

/**
 * Standard deviation of a standard normal truncated at ±2, i.e. what the resample-beyond-2-std loop
 * below produces; dividing by it makes the *resulting* std exactly sqrt(2/fanIn), as Keras'
 * VarianceScaling does (`.87962566103423978`).
 */
const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/**
 * Initial values of one variable: a pure function of (variable, its index, seed). Each variable draws
 * from its own stream `new Rng(seed, variableIndex)`, so values do not depend on the number of shards
 * or on which other variables exist after it.
 *
 * - `glorotUniform`: U(-l, l) with l = sqrt(6 / (fanIn + fanOut)).
 * - `heNormal`: truncated normal (resampled beyond 2 std) with resulting std sqrt(2 / fanIn).
 * - `zeros`, `ones`: constants (biases, batch-norm beta/gamma and moving statistics).
 * - `embeddingUniform`: U(-0.05, 0.05), the first row (`<pad>`) zero.
 */
export function initialValues(variable: VariableInfo, variableIndex: number, seed: number): Float32Array {
  const n = sizeOf(variable.shape);
  const out = new Float32Array(n);
  const field = `variables[${variableIndex}]`;
  switch (variable.initializer) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'embeddingUniform': {
      // Keras' embedding default U(-0.05, 0.05); row 0 is <pad> and starts (and stays) zero.
      const rng = new Rng(seed, variableIndex);
      const dim = variable.shape[1] ?? 1;
      for (let i = dim; i < n; i++) out[i] = (2 * rng.next() - 1) * 0.05;
      return out;
    }
    case 'glorotUniform': {
      if (!(variable.fanIn + variable.fanOut > 0)) {
        throw new ValidationError(
          `${field}.fanIn`,
          `glorotUniform needs fanIn + fanOut > 0 (variable ${variable.name})`,
        );
      }
      const limit = Math.sqrt(6 / (variable.fanIn + variable.fanOut));
      const rng = new Rng(seed, variableIndex);
      for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * limit;
      return out;
    }
    case 'heNormal': {
      if (!(variable.fanIn > 0)) {
        throw new ValidationError(`${field}.fanIn`, `heNormal needs fanIn > 0 (variable ${variable.name})`);
      }
      const std = Math.sqrt(2 / variable.fanIn) / TRUNCATED_NORMAL_STD;
      const rng = new Rng(seed, variableIndex);
      for (let i = 0; i < n; i++) {
        let z = rng.normal();
        while (z > 2 || z < -2) z = rng.normal();
        out[i] = z * std;
      }
      return out;
    }
    default: {
      const bad: never = variable.initializer;
      throw new ValidationError(`${field}.initializer`, `unknown initializer ${String(bad)}`);
    }
  }
}

/**
 * Initial parameters of a model: the one implementation shared by the parameter server (which slices
 * each variable into its parts) and any reference training loop. Pure function of (variables, seed).
 */
export function initialParameters(variables: readonly VariableInfo[], seed: number): ParamMap {
  const params: ParamMap = new Map();
  variables.forEach((v, i) => params.set(v.name, initialValues(v, i, seed)));
  return params;
}
