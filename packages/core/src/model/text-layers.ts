import * as tf from '@tensorflow/tfjs';
import type { LayerSpec, RecurrentLayerSpec } from '../job-spec.ts';

type Shape = (number | null)[];

function firstShape(inputShape: Shape | Shape[]): Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
}

/** Constructor arguments of {@link DistrainEmbedding}. */
export interface DistrainEmbeddingArgs {
  name: string;
  inputDim: number;
  outputDim: number;
  /** Emit a mask (index != 0) for the layers after it (recurrent layers skip padded steps). */
  maskZero?: boolean;
  /** false: the matrix is frozen (no gradient). @default true */
  trainable?: boolean;
  inputShape?: number[];
}

/**
 * An embedding layer (`embeddings` [inputDim, outputDim], the weight tf.layers.embedding has) whose
 * gradient is computed on the host as a dense float32 `[inputDim, outputDim]` sum: tfjs's automatic
 * gradient of `gather` needs `UnsortedSegmentSum`, which the wasm backend lacks, and the parameter
 * server treats every variable as dense float32 anyway. Row 0 (`<pad>`) gets no gradient, so a
 * zero-initialized `<pad>` row stays zero through training and padded steps embed to zeros.
 */
export class DistrainEmbedding extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = 'DistrainEmbedding';
  private readonly inputDim: number;
  private readonly outputDim: number;
  private readonly maskZero: boolean;
  private embeddings: tf.LayerVariable | undefined;

  constructor(args: DistrainEmbeddingArgs) {
    super(
      args.inputShape === undefined
        ? { name: args.name, trainable: args.trainable ?? true }
        : { name: args.name, inputShape: args.inputShape, dtype: 'int32', trainable: args.trainable ?? true },
    );
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.maskZero = args.maskZero ?? false;
    this.supportsMasking = true;
  }

  override build(): void {
    this.embeddings = this.addWeight(
      'embeddings',
      [this.inputDim, this.outputDim],
      'float32',
      tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05 }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...firstShape(inputShape), this.outputDim];
  }

  // tfjs types say a mask is always a tensor, but its layers return null for "no mask".
  override computeMask(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!this.maskZero || x === undefined) return null as unknown as tf.Tensor;
    return tf.notEqual(x, tf.zerosLike(x));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x === undefined || this.embeddings === undefined)
        throw new Error(`${this.name}: called before build`);
      const ids = x.dtype === 'int32' ? x : tf.cast(x, 'int32');
      const dim = this.outputDim;
      const vocab = this.inputDim;
      const f = tf.customGrad((idsIn, w, save) => {
        (save as tf.GradSaveFunc)([idsIn as tf.Tensor]);
        const flat = tf.reshape(idsIn as tf.Tensor, [-1]);
        const y = tf.reshape(tf.gather(w as tf.Tensor, flat), [...(idsIn as tf.Tensor).shape, dim]);
        return {
          value: y,
          gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
            const dy = (Array.isArray(dyIn) ? dyIn[0] : dyIn) as tf.Tensor;
            const idx = (saved[0] as tf.Tensor).dataSync() as Int32Array;
            const g = dy.dataSync() as Float32Array;
            const out = new Float32Array(vocab * dim);
            for (let r = 0; r < idx.length; r++) {
              const id = idx[r] as number;
              if (id <= 0 || id >= vocab) continue; // <pad> (and out-of-range ids) get no gradient
              const o = id * dim;
              const s = r * dim;
              for (let k = 0; k < dim; k++) out[o + k] = (out[o + k] as number) + (g[s + k] as number);
            }
            return [tf.zerosLike(saved[0] as tf.Tensor), tf.tensor(out, [vocab, dim], 'float32')];
          },
        };
      });
      return f(ids, this.embeddings.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      maskZero: this.maskZero,
    };
  }
}
tf.serialization.registerClass(DistrainEmbedding);

/** Constructor arguments of {@link GlobalPooling1D}. */
export interface GlobalPooling1DArgs {
  name: string;
  mode: 'average' | 'max';
}

/**
 * Global average or max pooling over time, `(batch, time, features)` → `(batch, features)`, that
 * honours the mask of an embedding with `maskZero` (the average is over real tokens only; the max
 * ignores padded steps), where tfjs's own pooling layers reject masked input.
 */
export class GlobalPooling1D extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = 'DistrainGlobalPooling1D';
  private readonly mode: 'average' | 'max';

  constructor(args: GlobalPooling1DArgs) {
    super({ name: args.name });
    this.mode = args.mode;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = firstShape(inputShape);
    return [s[0] ?? null, s[2] ?? null];
  }

  override computeMask(): tf.Tensor {
    return null as unknown as tf.Tensor; // the time axis is gone, and with it the mask
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const mask = kwargs['mask'] as tf.Tensor | undefined;
      if (mask === undefined || mask === null) return this.mode === 'average' ? tf.mean(x, 1) : tf.max(x, 1);
      const m = tf.expandDims(tf.cast(mask, 'float32'), 2); // (batch, time, 1)
      if (this.mode === 'average') {
        const n = tf.maximum(tf.sum(m, 1), tf.scalar(1));
        return tf.div(tf.sum(tf.mul(x, m), 1), n);
      }
      return tf.max(tf.add(x, tf.mul(tf.sub(m, tf.scalar(1)), tf.scalar(1e9))), 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}
tf.serialization.registerClass(GlobalPooling1D);

function recurrent(layer: RecurrentLayerSpec, name: string, seed: number): tf.RNN {
  const args = {
    name,
    units: layer.units,
    returnSequences: layer.returnSequences ?? false,
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    recurrentInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
  };
  return (layer.type === 'lstm' ? tf.layers.lstm(args) : tf.layers.gru(args)) as tf.RNN;
}

/**
 * The tfjs layer of a sequence layer spec (embedding, recurrent, conv1d, 1-D pooling) for
 * `buildModel`. `portable`: stock tfjs layers only (exports); else the embedding and pooling are the
 * distrain layers above. `first` carries the input shape when the layer is the first one.
 */
export function makeSequenceLayer(
  layer: LayerSpec,
  name: string,
  first: { inputShape?: number[] },
  seed: number,
  portable: boolean,
): tf.layers.Layer {
  switch (layer.type) {
    case 'embedding': {
      if (portable) {
        return tf.layers.embedding({
          ...first,
          name,
          inputDim: layer.inputDim ?? 0,
          outputDim: layer.outputDim,
          maskZero: layer.maskZero ?? false,
          trainable: layer.pretrained?.trainable ?? true,
        });
      }
      return new DistrainEmbedding({
        ...first,
        name,
        inputDim: layer.inputDim ?? 0,
        outputDim: layer.outputDim,
        maskZero: layer.maskZero ?? false,
        trainable: layer.pretrained?.trainable ?? true,
      });
    }
    case 'lstm':
    case 'gru':
      return recurrent(layer, name, seed);
    case 'bidirectional':
      return tf.layers.bidirectional({
        name,
        layer: recurrent(layer.layer, layer.layer.type, seed),
        mergeMode: layer.mergeMode ?? 'concat',
      });
    case 'conv1d':
      return tf.layers.conv1d({
        name,
        filters: layer.filters,
        kernelSize: layer.kernelSize,
        strides: layer.strides ?? 1,
        padding: layer.padding ?? 'valid',
        activation: layer.activation ?? 'linear',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      });
    case 'globalAveragePooling1d':
    case 'globalMaxPooling1d':
      if (portable) {
        return layer.type === 'globalAveragePooling1d'
          ? tf.layers.globalAveragePooling1d({ name })
          : tf.layers.globalMaxPooling1d({ name });
      }
      return new GlobalPooling1D({ name, mode: layer.type === 'globalAveragePooling1d' ? 'average' : 'max' });
    default:
      throw new Error(`makeSequenceLayer: ${layer.type} is not a sequence layer`);
  }
}
