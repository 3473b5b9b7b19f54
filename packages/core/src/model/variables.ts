import type { LayersModel } from '@tensorflow/tfjs';
import type { Activation, KernelInitializer, LayerSpec, RecurrentLayerSpec } from '../job-spec.ts';
import type { VariableInfo } from '../variables.ts';
import { inferShapes } from './validate.ts';

/** Activations after which kernels start He-normal (Keras' advice for rectifiers). */
const RELU_FAMILY: ReadonlySet<Activation> = new Set<Activation>(['relu', 'elu', 'selu']);

/** The tfjs layer name of `layers[index]`: explicit and stable across processes (never tfjs's global counters). */
export function layerName(index: number, layer: LayerSpec): string {
  return `l${index}_${layer.type}`;
}

/**
 * The kernel initializer of layer `index`: the spec's `kernelInitializer`, else He-normal when the
 * layer's own activation, or the next activation layer (looking past batch-norm and dropout), is
 * relu-family, else Glorot-uniform.
 */
export function kernelInitializerFor(layers: readonly LayerSpec[], index: number): KernelInitializer {
  const layer = layers[index];
  if (layer === undefined || (layer.type !== 'dense' && layer.type !== 'conv2d')) return 'glorotUniform';
  if (layer.kernelInitializer !== undefined) return layer.kernelInitializer;
  const own = layer.activation ?? 'linear';
  if (own !== 'linear') return RELU_FAMILY.has(own) ? 'heNormal' : 'glorotUniform';
  for (let j = index + 1; j < layers.length; j++) {
    const next = layers[j];
    if (next === undefined) break;
    if (next.type === 'batchNormalization' || next.type === 'dropout') continue;
    if (next.type === 'activation') return RELU_FAMILY.has(next.activation) ? 'heNormal' : 'glorotUniform';
    break;
  }
  return 'glorotUniform';
}

/** Keras' fans of a non-kernel variable: a vector of n counts n in and n out. */
function vectorVar(
  name: string,
  n: number,
  initializer: VariableInfo['initializer'],
  trainable: boolean,
): VariableInfo {
  return { name, shape: [n], initializer, fanIn: n, fanOut: n, trainable };
}

/** kernel [in, g*u], recurrent_kernel [u, g*u], bias [g*u] with g = 4 gates (LSTM) or 3 (GRU). */
function recurrentVars(prefix: string, layer: RecurrentLayerSpec, inDim: number): VariableInfo[] {
  const g = (layer.type === 'lstm' ? 4 : 3) * layer.units;
  return [
    {
      name: `${prefix}/kernel`,
      shape: [inDim, g],
      initializer: 'glorotUniform',
      fanIn: inDim,
      fanOut: g,
      trainable: true,
    },
    {
      name: `${prefix}/recurrent_kernel`,
      shape: [layer.units, g],
      initializer: 'glorotUniform',
      fanIn: layer.units,
      fanOut: g,
      trainable: true,
    },
    vectorVar(`${prefix}/bias`, g, 'zeros', true),
  ];
}

/**
 * The model's variables derived from the spec alone (no tfjs): names `<layer>/<weight>`, shapes,
 * initializers and fans, in the order of tfjs `model.weights` — every layer's trainable weights in
 * layer order, then every layer's non-trainable weights (batch-norm moving statistics) in layer
 * order. Order matters: the parameter server's storage, checkpoints and saved weights follow it.
 */
export function variablesFromSpec(
  layers: readonly LayerSpec[],
  inputShape: readonly number[],
): VariableInfo[] {
  const shapes = inferShapes(layers, inputShape);
  const trainable: VariableInfo[] = [];
  const state: VariableInfo[] = [];
  layers.forEach((layer, i) => {
    const name = layerName(i, layer);
    const input = shapes[i]?.input ?? [];
    const last = input[input.length - 1] ?? 0;
    switch (layer.type) {
      case 'dense':
        trainable.push({
          name: `${name}/kernel`,
          shape: [last, layer.units],
          initializer: kernelInitializerFor(layers, i),
          fanIn: last,
          fanOut: layer.units,
          trainable: true,
        });
        if (layer.useBias ?? true) trainable.push(vectorVar(`${name}/bias`, layer.units, 'zeros', true));
        break;
      case 'conv2d': {
        const k = layer.kernelSize;
        const [kh, kw] = typeof k === 'number' ? [k, k] : k;
        trainable.push({
          name: `${name}/kernel`,
          shape: [kh, kw, last, layer.filters],
          initializer: kernelInitializerFor(layers, i),
          fanIn: kh * kw * last,
          fanOut: kh * kw * layer.filters,
          trainable: true,
        });
        if (layer.useBias ?? true) trainable.push(vectorVar(`${name}/bias`, layer.filters, 'zeros', true));
        break;
      }
      case 'embedding': {
        const v: VariableInfo = {
          name: `${name}/embeddings`,
          shape: [layer.inputDim ?? 0, layer.outputDim],
          initializer: 'embeddingUniform',
          fanIn: layer.inputDim ?? 0,
          fanOut: layer.outputDim,
          trainable: layer.pretrained?.trainable ?? true,
        };
        // A frozen embedding is a non-trainable weight: tfjs lists it after every trainable one.
        (v.trainable ? trainable : state).push(v);
        break;
      }
      case 'lstm':
      case 'gru':
        trainable.push(...recurrentVars(name, layer, last));
        break;
      case 'bidirectional':
        trainable.push(...recurrentVars(`${name}/forward_${layer.layer.type}`, layer.layer, last));
        trainable.push(...recurrentVars(`${name}/backward_${layer.layer.type}`, layer.layer, last));
        break;
      case 'conv1d':
        trainable.push({
          name: `${name}/kernel`,
          shape: [layer.kernelSize, last, layer.filters],
          initializer: 'glorotUniform',
          fanIn: layer.kernelSize * last,
          fanOut: layer.kernelSize * layer.filters,
          trainable: true,
        });
        trainable.push(vectorVar(`${name}/bias`, layer.filters, 'zeros', true));
        break;
      case 'batchNormalization':
        trainable.push(vectorVar(`${name}/gamma`, last, 'ones', true));
        trainable.push(vectorVar(`${name}/beta`, last, 'zeros', true));
        state.push(vectorVar(`${name}/moving_mean`, last, 'zeros', false));
        state.push(vectorVar(`${name}/moving_variance`, last, 'ones', false));
        break;
      default:
        break;
    }
  });
  return [...trainable, ...state];
}

const registry = new WeakMap<LayersModel, readonly VariableInfo[]>();

/** @internal Called by `buildModel` once it has checked the model's weights against the list. */
export function registerModelVariables(model: LayersModel, variables: readonly VariableInfo[]): void {
  registry.set(model, variables);
}

/**
 * The variables of a model made by `buildModel`, in the fixed order of {@link variablesFromSpec}
 * (which is tfjs's `model.weights` order; non-trainable batch-norm statistics last, trainable=false).
 */
export function modelVariables(model: LayersModel): VariableInfo[] {
  const vars = registry.get(model);
  if (vars === undefined) throw new Error('modelVariables: the model was not made by buildModel');
  return vars.map((v) => ({ ...v, shape: [...v.shape] }));
}
