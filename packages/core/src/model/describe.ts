import { ValidationError } from '../errors.ts';
import type { LayerSpec } from '../job-spec.ts';
import type { VariableInfo } from '../variables.ts';
import { buildModel } from './build-model.ts';
import { modelVariables } from './variables.ts';
import { DEFAULT_LAYERS_FIELD, inferShapes } from './validate.ts';

/** What {@link describeModel} reports about a spec. */
export interface ModelDescription {
  variables: VariableInfo[];
  /** Per-sample output shape, e.g. [10]. */
  outputShape: number[];
  /** Total number of parameters (trainable and not). */
  parameterCount: number;
}

/**
 * Validates a layer list by building it with tfjs and disposing the model right away (no tensors
 * kept). Throws {@link ValidationError} naming `spec.model.layers[i].<field>` for invalid layers.
 */
export function describeModel(layers: readonly LayerSpec[], inputShape: readonly number[]): ModelDescription {
  const shapes = inferShapes(layers, inputShape);
  let model;
  try {
    model = buildModel(layers, { inputShape: [...inputShape], portable: true });
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(
      DEFAULT_LAYERS_FIELD,
      `tfjs rejected the model: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    const variables = modelVariables(model);
    const outputShape = shapes[shapes.length - 1]?.output ?? [];
    const built = model.outputs[0]?.shape.slice(1) ?? [];
    if (built.join(',') !== outputShape.join(',')) {
      throw new Error(
        `describeModel: inferred output [${outputShape.join(', ')}] but tfjs built [${built.join(', ')}]`,
      );
    }
    const parameterCount = variables.reduce((n, v) => n + v.shape.reduce((a, b) => a * b, 1), 0);
    return { variables, outputShape, parameterCount };
  } finally {
    model.dispose();
  }
}
