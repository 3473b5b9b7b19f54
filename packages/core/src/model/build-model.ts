// Over 400 lines on purpose: the fast dense/conv layers live beside the one builder that picks them.
import * as tf from '@tensorflow/tfjs';
import type { Activation, LayerSpec } from '../job-spec.ts';
import { DropoutNoise, SeededDropout } from './seeded-dropout.ts';
import { makeSequenceLayer } from './text-layers.ts';
import { kernelInitializerFor, layerName, registerModelVariables, variablesFromSpec } from './variables.ts';

/** Options of {@link buildModel}. */
export interface BuildModelOptions {
  /** Per-sample input shape (no batch axis), e.g. [784] or [28, 28, 1]. */
  inputShape: number[];
  /** Seed of tfjs's own initializers; the parameter server overwrites them anyway. @default 0 */
  seed?: number;
  /**
   * true: stock tfjs layers only, so the saved model.json loads with plain `tf.loadLayersModel`.
   * false: dense and conv2d layers use {@link FastDense} / {@link FastConv2D} (fused forward
   * kernels, explicit gradients; several times faster on wasm).
   * Both have the same variable names, shapes and order, so weights transfer. @default false
   */
  portable?: boolean;
  /**
   * Noise context of the dropout layers (not portable: {@link SeededDropout}, masks seeded per
   * sample). @default a fresh `DropoutNoise(seed)` per model
   */
  dropoutNoise?: DropoutNoise;
}

type Shape = (number | null)[];

function activate(name: Activation, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    case 'elu':
      return tf.elu(x);
    case 'selu':
      return tf.selu(x);
    case 'softplus':
      return tf.softplus(x);
    default: {
      const bad: never = name;
      throw new Error(`unknown activation ${String(bad)}`);
    }
  }
}

/** The activation a fused kernel (`_FusedMatMul`, `FusedConv2D`) applies itself, if any. */
function fusedActivation(name: Activation): 'linear' | 'relu' | undefined {
  return name === 'linear' || name === 'relu' ? name : undefined;
}

/**
 * Whether a dense layer's forward pass computes yᵀ = Wᵀ xᵀ instead of y = x W. The wasm backend's
 * matMul (XNNPACK) packs its second operand into its own layout whenever that tensor is new, i.e.
 * the kernel after every `setParameters` (~9 ns per value). With few rows (a trainer's slice) and a
 * large kernel, packing xᵀ [in, rows] instead of W [in, units] saves more than the transposes cost
 * (784x256 kernel: batch 64 ~1.2 ms of CPU per step less, batch 128 even, so not taken). wasm only: other backends do not pack.
 */
function transposedForward(rows: number, inDim: number, units: number): boolean {
  return tf.getBackend() === 'wasm' && rows * 4 <= units && inDim * units >= 65_536;
}

/** y = act(x W + b) as act((Wᵀ xᵀ)ᵀ + b), relu or linear; see {@link transposedForward}. */
function transposedDense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined, relu: boolean): tf.Tensor {
  const yT = tf.matMul(tf.transpose(w), tf.transpose(x));
  const z = b === undefined ? tf.transpose(yT) : tf.add(tf.transpose(yT), b);
  return relu ? tf.relu(z) : z;
}

/** Constructor arguments of {@link FastDense}. */
export interface FastDenseArgs {
  name: string;
  units: number;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: 'glorotUniform' | 'heNormal';
  seed?: number;
  /**
   * false when no earlier layer has parameters (the first dense layer): the input gradient is then
   * never used, and skipping its matMul saves a third of that layer's backward pass. @default true
   */
  inputGradient?: boolean;
  inputShape?: number[];
}

/**
 * A dense layer with the same weights as `tf.layers.dense` (`kernel` [in, units], `bias` [units])
 * whose gradient is written with explicit transposes and plain matMuls (`tf.customGrad`). tfjs's
 * automatic gradient of matMul sets the transpose flags, which the wasm backend runs ~14x slower.
 */
export class FastDense extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = 'DistrainFastDense';
  private readonly units: number;
  private readonly activationName: Activation;
  private readonly useBias: boolean;
  private readonly kernelInit: 'glorotUniform' | 'heNormal';
  private readonly seed: number;
  private readonly inputGradient: boolean;
  private kernel: tf.LayerVariable | undefined;
  private bias: tf.LayerVariable | undefined;

  constructor(args: FastDenseArgs) {
    super(
      args.inputShape === undefined ? { name: args.name } : { name: args.name, inputShape: args.inputShape },
    );
    this.units = args.units;
    this.activationName = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.kernelInit = args.kernelInitializer ?? 'glorotUniform';
    this.seed = args.seed ?? 0;
    this.inputGradient = args.inputGradient ?? true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const inDim = shape[shape.length - 1];
    if (typeof inDim !== 'number') throw new Error(`${this.name}: the last input dimension must be known`);
    const init =
      this.kernelInit === 'heNormal'
        ? tf.initializers.heNormal({ seed: this.seed })
        : tf.initializers.glorotUniform({ seed: this.seed });
    this.kernel = this.addWeight('kernel', [inDim, this.units], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x === undefined || this.kernel === undefined) throw new Error(`${this.name}: called before build`);
      const kernel = this.kernel.read();
      const inDim = kernel.shape[0] ?? 0;
      const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]);
      const withGrad = this.inputGradient;
      // relu (and linear) run inside the matMul kernel (XNNPACK clamps its output); others after it.
      const fused = fusedActivation(this.activationName);
      const relu = fused === 'relu';
      // Forward intermediates (including this layer's input) are disposed before backprop runs,
      // so the gradient uses the tensors kept by `save`, never closure captures.
      const grad = (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] => {
        const dy = (Array.isArray(dyIn) ? dyIn[0] : dyIn) as tf.Tensor2D;
        const [a, w, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        // relu'(z) = (y > 0): the output decides as well as the pre-activation.
        const g = relu ? tf.mul(dy, tf.step(y)) : dy;
        const grads = [
          withGrad ? tf.matMul(g, tf.transpose(w)) : tf.zerosLike(a),
          tf.matMul(tf.transpose(a), g),
        ];
        if (this.useBias) grads.push(tf.sum(g, 0));
        return grads;
      };
      const forward = (
        a: tf.Tensor,
        w: tf.Tensor,
        b: tf.Tensor | undefined,
        save: tf.GradSaveFunc,
      ): tf.Tensor => {
        const [m, k] = a.shape as [number, number];
        if (transposedForward(m, k, this.units)) {
          const y = transposedDense(a, w, b, relu);
          save([a, w, y]);
          return y;
        }
        // The kernel takes rank-3 (batched) operands, as `tf.fused.matMul` passes them.
        const a3 = tf.reshape(a, [1, m, k]);
        const w3 = tf.reshape(w, [1, k, this.units]);
        const y3 = tf
          .engine()
          .runKernel('_FusedMatMul', b === undefined ? { a: a3, b: w3 } : { a: a3, b: w3, bias: b }, {
            transposeA: false,
            transposeB: false,
            activation: fused ?? 'linear',
          }) as tf.Tensor;
        const y = tf.reshape(y3, [m, this.units]);
        save([a, w, y]);
        return y;
      };
      let y: tf.Tensor;
      if (this.bias !== undefined) {
        const f = tf.customGrad((a, w, b, save) => ({
          value: forward(a as tf.Tensor, w as tf.Tensor, b as tf.Tensor, save as tf.GradSaveFunc),
          gradFunc: grad,
        }));
        y = f(x2, kernel, this.bias.read());
      } else {
        const f = tf.customGrad((a, w, save) => ({
          value: forward(a as tf.Tensor, w as tf.Tensor, undefined, save as tf.GradSaveFunc),
          gradFunc: grad,
        }));
        y = f(x2, kernel);
      }
      if (x.rank !== 2) y = tf.reshape(y, [...x.shape.slice(0, -1), this.units]);
      return fused === undefined ? activate(this.activationName, y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activationName,
      useBias: this.useBias,
      kernelInitializer: this.kernelInit,
      seed: this.seed,
      inputGradient: this.inputGradient,
    };
  }
}
tf.serialization.registerClass(FastDense);

/** Constructor arguments of {@link FastConv2D}. */
export interface FastConv2DArgs {
  name: string;
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: 'glorotUniform' | 'heNormal';
  seed?: number;
  /** false when no earlier layer has parameters: the input gradient is then never computed. @default true */
  inputGradient?: boolean;
  inputShape?: number[];
}

function pairOf(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * A 2-D convolution (NHWC) with the same weights as `tf.layers.conv2d` (`kernel` [kh, kw, in,
 * filters], `bias` [filters]) and an explicit gradient (`tf.customGrad`): the forward pass is one
 * `FusedConv2D` kernel (bias and relu inside XNNPACK, where autodiff would run three kernels), the
 * backward pass computes dy * (y > 0) once and calls the filter and input gradient kernels directly,
 * skipping the input gradient where nothing before the layer has parameters.
 */
export class FastConv2D extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = 'DistrainFastConv2D';
  private readonly filters: number;
  private readonly kernelSize: [number, number];
  private readonly strides: [number, number];
  private readonly padding: 'valid' | 'same';
  private readonly activationName: Activation;
  private readonly useBias: boolean;
  private readonly kernelInit: 'glorotUniform' | 'heNormal';
  private readonly seed: number;
  private readonly inputGradient: boolean;
  private kernel: tf.LayerVariable | undefined;
  private bias: tf.LayerVariable | undefined;

  constructor(args: FastConv2DArgs) {
    super(
      args.inputShape === undefined ? { name: args.name } : { name: args.name, inputShape: args.inputShape },
    );
    this.filters = args.filters;
    this.kernelSize = pairOf(args.kernelSize);
    this.strides = pairOf(args.strides ?? 1);
    this.padding = args.padding ?? 'valid';
    this.activationName = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.kernelInit = args.kernelInitializer ?? 'glorotUniform';
    this.seed = args.seed ?? 0;
    this.inputGradient = args.inputGradient ?? true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const inDim = shape[shape.length - 1];
    if (typeof inDim !== 'number' || shape.length !== 4)
      throw new Error(`${this.name}: needs [batch, h, w, channels] with known channels`);
    const init =
      this.kernelInit === 'heNormal'
        ? tf.initializers.heNormal({ seed: this.seed })
        : tf.initializers.glorotUniform({ seed: this.seed });
    this.kernel = this.addWeight('kernel', [...this.kernelSize, inDim, this.filters], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const out = (size: number | null | undefined, k: number, s: number): number | null => {
      if (typeof size !== 'number') return null;
      return this.padding === 'same' ? Math.ceil(size / s) : Math.ceil((size - k + 1) / s);
    };
    return [
      shape[0] ?? null,
      out(shape[1], this.kernelSize[0], this.strides[0]),
      out(shape[2], this.kernelSize[1], this.strides[1]),
      this.filters,
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x === undefined || this.kernel === undefined) throw new Error(`${this.name}: called before build`);
      const fused = fusedActivation(this.activationName);
      const relu = fused === 'relu';
      const withGrad = this.inputGradient;
      const conv = { strides: this.strides, pad: this.padding, dataFormat: 'NHWC' as const };
      const grad = (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): tf.Tensor[] => {
        const dy = (Array.isArray(dyIn) ? dyIn[0] : dyIn) as tf.Tensor4D;
        const [a, w, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const g = relu ? tf.mul(dy, tf.step(y)) : dy;
        const engine = tf.engine();
        const grads = [
          withGrad
            ? (engine.runKernel(
                'Conv2DBackpropInput',
                { dy: g, filter: w },
                { ...conv, inputShape: a.shape },
              ) as tf.Tensor)
            : tf.zerosLike(a),
          engine.runKernel(
            'Conv2DBackpropFilter',
            { x: a, dy: g },
            { ...conv, filterShape: w.shape },
          ) as tf.Tensor,
        ];
        // Summing a [n*h*w, filters] view is ~2x faster on wasm than summing axes [0, 1, 2].
        if (this.useBias) grads.push(tf.sum(tf.reshape(g, [-1, this.filters]), 0));
        return grads;
      };
      const forward = (
        a: tf.Tensor,
        w: tf.Tensor,
        b: tf.Tensor | undefined,
        save: tf.GradSaveFunc,
      ): tf.Tensor => {
        const y = tf
          .engine()
          .runKernel('FusedConv2D', b === undefined ? { x: a, filter: w } : { x: a, filter: w, bias: b }, {
            ...conv,
            dilations: [1, 1],
            activation: fused ?? 'linear',
          }) as tf.Tensor;
        save([a, w, y]);
        return y;
      };
      let y: tf.Tensor;
      if (this.bias !== undefined) {
        const f = tf.customGrad((a, w, b, save) => ({
          value: forward(a as tf.Tensor, w as tf.Tensor, b as tf.Tensor, save as tf.GradSaveFunc),
          gradFunc: grad,
        }));
        y = f(x, this.kernel.read(), this.bias.read());
      } else {
        const f = tf.customGrad((a, w, save) => ({
          value: forward(a as tf.Tensor, w as tf.Tensor, undefined, save as tf.GradSaveFunc),
          gradFunc: grad,
        }));
        y = f(x, this.kernel.read());
      }
      return fused === undefined ? activate(this.activationName, y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      activation: this.activationName,
      useBias: this.useBias,
      kernelInitializer: this.kernelInit,
      seed: this.seed,
      inputGradient: this.inputGradient,
    };
  }
}
tf.serialization.registerClass(FastConv2D);

function hasParameters(layer: LayerSpec): boolean {
  return ![
    'activation',
    'dropout',
    'flatten',
    'reshape',
    'maxPooling2d',
    'globalAveragePooling1d',
    'globalMaxPooling1d',
  ].includes(layer.type);
}

function makeLayer(layers: readonly LayerSpec[], i: number, options: BuildModelOptions): tf.layers.Layer {
  const layer = layers[i];
  if (layer === undefined) throw new Error(`no layer ${i}`);
  const name = layerName(i, layer);
  const first = i === 0 ? { inputShape: options.inputShape } : {};
  const seed = (options.seed ?? 0) + i;
  switch (layer.type) {
    case 'dense': {
      const init = kernelInitializerFor(layers, i);
      if (options.portable === true) {
        return tf.layers.dense({
          ...first,
          name,
          units: layer.units,
          activation: layer.activation ?? 'linear',
          useBias: layer.useBias ?? true,
          kernelInitializer:
            init === 'heNormal'
              ? tf.initializers.heNormal({ seed })
              : tf.initializers.glorotUniform({ seed }),
          biasInitializer: 'zeros',
        });
      }
      return new FastDense({
        ...first,
        name,
        units: layer.units,
        activation: layer.activation ?? 'linear',
        useBias: layer.useBias ?? true,
        kernelInitializer: init,
        seed,
        inputGradient: layers.slice(0, i).some(hasParameters),
      });
    }
    case 'activation':
      return tf.layers.activation({ ...first, name, activation: layer.activation });
    case 'dropout':
      if (options.portable === true || options.dropoutNoise === undefined)
        return tf.layers.dropout({ ...first, name, rate: layer.rate });
      return new SeededDropout({
        ...first,
        name,
        rate: layer.rate,
        layerIndex: i,
        noise: options.dropoutNoise,
      });
    case 'batchNormalization':
      return tf.layers.batchNormalization({
        ...first,
        name,
        axis: -1,
        momentum: layer.momentum ?? 0.99,
        epsilon: layer.epsilon ?? 0.001,
      });
    case 'flatten':
      return tf.layers.flatten({ ...first, name });
    case 'reshape':
      return tf.layers.reshape({ ...first, name, targetShape: layer.targetShape });
    case 'conv2d': {
      const init = kernelInitializerFor(layers, i);
      if (options.portable === true) {
        return tf.layers.conv2d({
          ...first,
          name,
          filters: layer.filters,
          kernelSize: layer.kernelSize,
          strides: layer.strides ?? 1,
          padding: layer.padding ?? 'valid',
          activation: layer.activation ?? 'linear',
          useBias: layer.useBias ?? true,
          kernelInitializer:
            init === 'heNormal'
              ? tf.initializers.heNormal({ seed })
              : tf.initializers.glorotUniform({ seed }),
          biasInitializer: 'zeros',
        });
      }
      return new FastConv2D({
        ...first,
        name,
        filters: layer.filters,
        kernelSize: layer.kernelSize,
        strides: layer.strides ?? 1,
        padding: layer.padding ?? 'valid',
        activation: layer.activation ?? 'linear',
        useBias: layer.useBias ?? true,
        kernelInitializer: init,
        seed,
        inputGradient: layers.slice(0, i).some(hasParameters),
      });
    }
    case 'maxPooling2d': {
      const poolSize = layer.poolSize ?? 2;
      return tf.layers.maxPooling2d({
        ...first,
        name,
        poolSize,
        strides: layer.strides ?? poolSize,
        padding: layer.padding ?? 'valid',
      });
    }
    case 'embedding':
    case 'lstm':
    case 'gru':
    case 'bidirectional':
    case 'conv1d':
    case 'globalAveragePooling1d':
    case 'globalMaxPooling1d':
      return makeSequenceLayer(layer, name, first, seed, options.portable === true);
    default: {
      const bad: never = layer;
      throw new Error(`unknown layer ${JSON.stringify(bad)}`);
    }
  }
}

/**
 * The one pure function from a layer spec to a tfjs model (`tf.sequential`). Layer names are
 * `l<index>_<type>` (stable across processes); variables are named `<layer>/<weight>` and listed by
 * `modelVariables(model)`. Validates the spec first (ValidationError naming `spec.model.layers[i]`).
 * The caller owns the model and disposes it.
 */
export function buildModel(layers: readonly LayerSpec[], options: BuildModelOptions): tf.LayersModel {
  const variables = variablesFromSpec(layers, options.inputShape);
  const model = tf.sequential();
  const opts =
    options.portable === true || options.dropoutNoise !== undefined
      ? options
      : { ...options, dropoutNoise: new DropoutNoise(options.seed ?? 0) };
  try {
    for (let i = 0; i < layers.length; i++) model.add(makeLayer(layers, i, opts));
    // The spec-derived list must be exactly what tfjs built, in tfjs's order.
    const weights = model.weights;
    if (weights.length !== variables.length) {
      throw new Error(
        `buildModel: tfjs made ${weights.length} weights, the spec implies ${variables.length}`,
      );
    }
    weights.forEach((w, k) => {
      const v = variables[k];
      if (v === undefined || w.originalName !== v.name || w.shape.join(',') !== v.shape.join(',')) {
        throw new Error(
          `buildModel: weight ${k} is ${w.originalName} [${w.shape.join(', ')}], expected ${v?.name} [${v?.shape.join(', ')}]`,
        );
      }
    });
  } catch (err) {
    model.dispose();
    throw err;
  }
  registerModelVariables(model, variables);
  return model;
}
