import { ValidationError } from '../errors.ts';
import { ACTIVATIONS, LAYER_TYPES } from '../job-spec.ts';
import type { LayerSpec, LossName } from '../job-spec.ts';

/** Shapes (per sample, without the batch axis) around one layer, as inferred from the spec. */
export interface LayerShapes {
  input: number[];
  output: number[];
}

/** Where spec errors point: `spec.model.layers` unless a caller validates something else. */
export const DEFAULT_LAYERS_FIELD = 'spec.model.layers';

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function pair(v: unknown, field: string, fallback?: [number, number]): [number, number] {
  if (v === undefined && fallback !== undefined) return fallback;
  if (isPositiveInt(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && isPositiveInt(v[0]) && isPositiveInt(v[1])) return [v[0], v[1]];
  throw new ValidationError(
    field,
    `must be a positive integer or a pair of positive integers, got ${JSON.stringify(v)}`,
  );
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function spatialOut(inSize: number, k: number, s: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(inSize / s) : Math.floor((inSize - k) / s) + 1;
}

function needImage(kind: string, input: number[], field: string): [number, number, number] {
  const [h, w, c] = input;
  if (input.length !== 3 || h === undefined || w === undefined || c === undefined) {
    throw new ValidationError(
      `${field}.type`,
      `${kind} needs an input of rank 3 [height, width, channels] per sample, got [${input.join(', ')}]; ` +
        `add a reshape layer before it (e.g. targetShape [28, 28, 1] for 784 features)`,
    );
  }
  return [h, w, c];
}

function checkActivation(v: unknown, field: string): void {
  if (v !== undefined && !(ACTIVATIONS as readonly unknown[]).includes(v)) {
    throw new ValidationError(
      field,
      `unknown activation ${JSON.stringify(v)}; use one of ${ACTIVATIONS.join(', ')}`,
    );
  }
}

/**
 * Validates a layer list against a per-sample input shape and infers every layer's shapes, without
 * tfjs. Throws {@link ValidationError} naming `spec.model.layers[i].<field>` and the fix.
 */
export function inferShapes(
  layers: readonly LayerSpec[],
  inputShape: readonly number[],
  layersField = DEFAULT_LAYERS_FIELD,
): LayerShapes[] {
  if (inputShape.length === 0 || !inputShape.every(isPositiveInt)) {
    throw new ValidationError(
      'inputShape',
      `must be a non-empty list of positive integers, got [${inputShape.join(', ')}]`,
    );
  }
  if (layers.length === 0) throw new ValidationError(layersField, 'the model needs at least one layer');
  const out: LayerShapes[] = [];
  let shape = [...inputShape];
  layers.forEach((layer, i) => {
    const field = `${layersField}[${i}]`;
    const input = shape;
    if (!(LAYER_TYPES as readonly unknown[]).includes(layer.type)) {
      throw new ValidationError(
        `${field}.type`,
        `unknown layer type ${JSON.stringify(layer.type)}; use one of ${LAYER_TYPES.join(', ')}`,
      );
    }
    switch (layer.type) {
      case 'dense': {
        if (!isPositiveInt(layer.units))
          throw new ValidationError(
            `${field}.units`,
            `must be a positive integer, got ${JSON.stringify(layer.units)}`,
          );
        checkActivation(layer.activation, `${field}.activation`);
        shape = [...input.slice(0, -1), layer.units];
        break;
      }
      case 'activation':
        if (layer.activation === undefined) throw new ValidationError(`${field}.activation`, 'is required');
        checkActivation(layer.activation, `${field}.activation`);
        break;
      case 'dropout':
        if (typeof layer.rate !== 'number' || !(layer.rate >= 0 && layer.rate < 1)) {
          throw new ValidationError(
            `${field}.rate`,
            `must be a number in [0, 1), got ${JSON.stringify(layer.rate)}`,
          );
        }
        break;
      case 'batchNormalization':
        if (layer.momentum !== undefined && !(layer.momentum > 0 && layer.momentum < 1)) {
          throw new ValidationError(`${field}.momentum`, `must be in (0, 1), got ${layer.momentum}`);
        }
        if (layer.epsilon !== undefined && !(layer.epsilon > 0)) {
          throw new ValidationError(`${field}.epsilon`, `must be > 0, got ${layer.epsilon}`);
        }
        break;
      case 'flatten':
        shape = [size(input)];
        break;
      case 'reshape': {
        const t = layer.targetShape;
        if (!Array.isArray(t) || t.length === 0 || !t.every(isPositiveInt)) {
          throw new ValidationError(
            `${field}.targetShape`,
            `must be a non-empty list of positive integers, got ${JSON.stringify(t)}`,
          );
        }
        if (size(t) !== size(input)) {
          throw new ValidationError(
            `${field}.targetShape`,
            `[${t.join(', ')}] has ${size(t)} elements but its input [${input.join(', ')}] has ${size(input)}`,
          );
        }
        shape = [...t];
        break;
      }
      case 'conv2d': {
        const [h, w] = needImage('conv2d', input, field);
        if (!isPositiveInt(layer.filters))
          throw new ValidationError(
            `${field}.filters`,
            `must be a positive integer, got ${JSON.stringify(layer.filters)}`,
          );
        const [kh, kw] = pair(layer.kernelSize, `${field}.kernelSize`);
        const [sh, sw] = pair(layer.strides, `${field}.strides`, [1, 1]);
        const padding = layer.padding ?? 'valid';
        if (padding !== 'valid' && padding !== 'same')
          throw new ValidationError(`${field}.padding`, `must be 'valid' or 'same'`);
        checkActivation(layer.activation, `${field}.activation`);
        const oh = spatialOut(h, kh, sh, padding);
        const ow = spatialOut(w, kw, sw, padding);
        if (oh < 1 || ow < 1) {
          throw new ValidationError(
            `${field}.kernelSize`,
            `[${kh}, ${kw}] is larger than its input [${h}, ${w}] with padding 'valid'; use a smaller kernel or padding 'same'`,
          );
        }
        shape = [oh, ow, layer.filters];
        break;
      }
      case 'maxPooling2d': {
        const [h, w, c] = needImage('maxPooling2d', input, field);
        const [ph, pw] = pair(layer.poolSize, `${field}.poolSize`, [2, 2]);
        const [sh, sw] = pair(layer.strides, `${field}.strides`, [ph, pw]);
        const padding = layer.padding ?? 'valid';
        if (padding !== 'valid' && padding !== 'same')
          throw new ValidationError(`${field}.padding`, `must be 'valid' or 'same'`);
        const oh = spatialOut(h, ph, sh, padding);
        const ow = spatialOut(w, pw, sw, padding);
        if (oh < 1 || ow < 1) {
          throw new ValidationError(
            `${field}.poolSize`,
            `[${ph}, ${pw}] is larger than its input [${h}, ${w}]`,
          );
        }
        shape = [oh, ow, c];
        break;
      }
      default: {
        const bad: never = layer;
        throw new ValidationError(`${field}.type`, `unknown layer type ${JSON.stringify(bad)}`);
      }
    }
    out.push({ input, output: shape });
  });
  return out;
}

/** How many output units a loss needs for `numClasses` classes. */
export function expectedOutputUnits(loss: LossName, numClasses: number): number[] {
  // Binary sigmoid classification: one logit (p(class 1)); multi-label: one logit per label.
  if (loss === 'sigmoidCrossEntropy' && numClasses === 2) return [1, 2];
  return [numClasses];
}

/**
 * Checks that the model's output matches the dataset: the last layer's output is a vector whose size
 * is the number of classes (1 or 2 for binary sigmoid); for a regression dataset (numClasses 0: float
 * labels) one unit per target column with `meanSquaredError` (spec.loss named otherwise). Throws {@link ValidationError} with field
 * `spec.model.layers[<last>].units`, e.g. "the output layer has 10 units but the dataset has 2
 * classes; set units to 2".
 */
export function checkOutputMatchesClasses(
  layers: readonly LayerSpec[],
  inputShape: readonly number[],
  numClasses: number,
  loss: LossName,
  layersField = DEFAULT_LAYERS_FIELD,
): void {
  const shapes = inferShapes(layers, inputShape, layersField);
  const last = layers.length - 1;
  const outShape = shapes[last]?.output ?? [];
  const field = `${layersField}[${last}].units`;
  if (outShape.length !== 1) {
    throw new ValidationError(
      field,
      `the output must be a vector of class scores but the last layer gives shape [${outShape.join(', ')}]; add flatten and a dense layer`,
    );
  }
  const units = outShape[0] ?? 0;
  if (numClasses === 0) {
    // Float labels: a regression target (one label column), so one output unit and an MSE loss.
    if (loss !== 'meanSquaredError') {
      throw new ValidationError(
        'spec.loss',
        `the dataset's labels are numeric regression targets (not class ids), so ${loss} does not apply; use meanSquaredError`,
      );
    }
    if (units !== 1) {
      throw new ValidationError(
        field,
        `the output layer has ${units} units but the dataset has 1 regression target column; set units to 1`,
      );
    }
    return;
  }
  const allowed = expectedOutputUnits(loss, numClasses);
  if (!allowed.includes(units)) {
    const want = allowed[0] ?? numClasses;
    throw new ValidationError(
      field,
      `the output layer has ${units} units but the dataset has ${numClasses} classes; set units to ${want}`,
    );
  }
  const lastLayer = layers[last];
  if (lastLayer !== undefined && (loss === 'softmaxCrossEntropy' || loss === 'sigmoidCrossEntropy')) {
    const act =
      lastLayer.type === 'dense' || lastLayer.type === 'activation' ? lastLayer.activation : undefined;
    if (act !== undefined && act !== 'linear') {
      throw new ValidationError(
        `${layersField}[${last}].activation`,
        `${loss} takes logits, but the output layer applies ${act}; remove the activation (use 'linear')`,
      );
    }
  }
}
