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

function needSequence(kind: string, input: number[], field: string, prev: string): [number, number] {
  const [t, f] = input;
  if (input.length !== 2 || t === undefined || f === undefined) {
    throw new ValidationError(
      `${field}.type`,
      `${kind} needs (batch, time, features) input, i.e. a per-sample shape [time, features], but ${prev} gives [${input.join(', ')}]; ` +
        `put it after an embedding, a conv1d, or a recurrent layer with returnSequences: true`,
    );
  }
  return [t, f];
}

function checkRecurrent(layer: { type: unknown; units?: unknown }, field: string): void {
  if (layer.type !== 'lstm' && layer.type !== 'gru')
    throw new ValidationError(`${field}.type`, `must be lstm or gru, got ${JSON.stringify(layer.type)}`);
  if (!isPositiveInt(layer.units))
    throw new ValidationError(
      `${field}.units`,
      `must be a positive integer, got ${JSON.stringify(layer.units)}`,
    );
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
    const prevLayer = layers[i - 1];
    const prev = prevLayer === undefined ? 'the dataset' : `layers[${i - 1}] (${prevLayer.type})`;
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
      case 'embedding': {
        if (i !== 0)
          throw new ValidationError(
            `${field}.type`,
            "embedding must be the first layer: it maps the dataset's token indices to vectors",
          );
        if (input.length !== 1)
          throw new ValidationError(
            `${field}.type`,
            `embedding needs token index sequences (per-sample shape [time]) but the dataset gives [${input.join(', ')}]; use a text dataset (text, fortunes-language, fortunes-topic)`,
          );
        if (!isPositiveInt(layer.outputDim))
          throw new ValidationError(
            `${field}.outputDim`,
            `must be a positive integer, got ${JSON.stringify(layer.outputDim)}`,
          );
        if (!isPositiveInt(layer.inputDim))
          throw new ValidationError(
            `${field}.inputDim`,
            `is the vocabulary size, filled in from the dataset at submit; got ${JSON.stringify(layer.inputDim)}`,
          );
        shape = [input[0] as number, layer.outputDim];
        break;
      }
      case 'lstm':
      case 'gru': {
        const [t] = needSequence(layer.type, input, field, prev);
        checkRecurrent(layer, field);
        shape = layer.returnSequences === true ? [t, layer.units] : [layer.units];
        break;
      }
      case 'bidirectional': {
        const [t] = needSequence('bidirectional', input, field, prev);
        if (layer.layer === undefined || layer.layer === null || typeof layer.layer !== 'object')
          throw new ValidationError(`${field}.layer`, 'is required: { type: lstm | gru, units }');
        checkRecurrent(layer.layer, `${field}.layer`);
        const mode = layer.mergeMode ?? 'concat';
        if (!['concat', 'sum', 'ave', 'mul'].includes(mode))
          throw new ValidationError(
            `${field}.mergeMode`,
            `must be concat, sum, ave or mul, got ${JSON.stringify(mode)}`,
          );
        const u = mode === 'concat' ? 2 * layer.layer.units : layer.layer.units;
        shape = layer.layer.returnSequences === true ? [t, u] : [u];
        break;
      }
      case 'conv1d': {
        const [t] = needSequence('conv1d', input, field, prev);
        if (!isPositiveInt(layer.filters))
          throw new ValidationError(
            `${field}.filters`,
            `must be a positive integer, got ${JSON.stringify(layer.filters)}`,
          );
        if (!isPositiveInt(layer.kernelSize))
          throw new ValidationError(
            `${field}.kernelSize`,
            `must be a positive integer, got ${JSON.stringify(layer.kernelSize)}`,
          );
        const st = layer.strides ?? 1;
        if (!isPositiveInt(st))
          throw new ValidationError(
            `${field}.strides`,
            `must be a positive integer, got ${JSON.stringify(st)}`,
          );
        const padding = layer.padding ?? 'valid';
        if (padding !== 'valid' && padding !== 'same')
          throw new ValidationError(`${field}.padding`, `must be 'valid' or 'same'`);
        checkActivation(layer.activation, `${field}.activation`);
        const ot = spatialOut(t, layer.kernelSize, st, padding);
        if (ot < 1)
          throw new ValidationError(
            `${field}.kernelSize`,
            `${layer.kernelSize} is longer than its input's ${t} steps with padding 'valid'; use a smaller kernel or padding 'same'`,
          );
        shape = [ot, layer.filters];
        break;
      }
      case 'globalAveragePooling1d':
      case 'globalMaxPooling1d': {
        const [, f] = needSequence(layer.type, input, field, prev);
        shape = [f];
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
