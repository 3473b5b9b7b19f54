import * as tf from '@tensorflow/tfjs';
import { filledTensor } from './heap-io.ts';

/**
 * Which samples a training forward pass sees, so dropout masks depend on the sample and not on the
 * process: sample `indices[i]` (its index in the train split) of `epoch` gets the same mask whether
 * one trainer or eight compute it, and in every run of the same job.
 */
export interface NoiseKeys {
  epoch: number;
  /** Train-split index of each sample of the batch, in batch order. */
  indices: ArrayLike<number>;
}

/**
 * The mutable noise context shared by the model's {@link SeededDropout} layers. `ModelRuntime` sets
 * `keys` before a training forward pass and clears it after. Without keys (a caller that does not
 * know its samples) a per-context counter numbers the samples: still seeded, but then the masks
 * depend on the call order.
 */
export class DropoutNoise {
  keys: NoiseKeys | undefined;
  /**
   * Masks made ahead for the coming forward pass, by layer index (`ModelRuntime.prepareBatch`); a
   * layer uses its own only when the shape matches, else it makes the mask as usual.
   */
  premade: ReadonlyMap<number, tf.Tensor> | undefined;
  /** The dropout layers of the model, by layer index: rate and per-sample input shape (once built). */
  readonly layers = new Map<number, { rate: number; sampleShape: number[] }>();
  private counter = 0;

  constructor(readonly seed: number) {}

  /** The keep-mask of dropout layer `layer` for `keys`, as a tensor of `shape` ([count, ...sample]). */
  mask(layer: number, rate: number, shape: number[], keys: NoiseKeys): tf.Tensor {
    const count = shape[0] ?? 0;
    const per = count === 0 ? 0 : shape.reduce((a, b) => a * b, 1) / count;
    return filledTensor(shape, (out) => fillDropoutMask(out, this.seed, layer, rate, keys, per));
  }

  /** Keys of the next `count` samples: the set keys, or counter-numbered ones. */
  keysFor(count: number): NoiseKeys {
    if (this.keys !== undefined) {
      if (this.keys.indices.length !== count) {
        throw new Error(`dropout noise: ${this.keys.indices.length} sample keys for a batch of ${count}`);
      }
      return this.keys;
    }
    const start = this.counter;
    this.counter += count;
    return { epoch: 0x7fffffff, indices: Array.from({ length: count }, (_, i) => start + i) };
  }
}

function mix(a: number, b: number): number {
  let z = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) ^ Math.imul(b + 0x6b43a9b5, 0x297a2d39)) >>> 0;
  z = Math.imul(z ^ (z >>> 12), 0x85ebca6b);
  return (z ^ (z >>> 13)) >>> 0;
}

/**
 * The keep-mask of a dropout layer (`1 / (1 - rate)` kept, 0 dropped) for `keys`, `per` units per
 * sample: sample `i`'s row comes from its own stream `(seed, layer, epoch, indices[i])`.
 */
export function dropoutMask(
  seed: number,
  layer: number,
  rate: number,
  keys: NoiseKeys,
  per: number,
): Float32Array {
  const out = new Float32Array(keys.indices.length * per);
  fillDropoutMask(out, seed, layer, rate, keys, per);
  return out;
}

/**
 * {@link dropoutMask} written into `out` (its first `indices.length * per` values). Per element:
 * a SplitMix32-style counter stream, element j of a sample is the finalized hash of
 * `state + (j + 1) * golden`; dropped when the 32-bit draw is below `rate * 2^32`. All arithmetic
 * stays in int32 (`| 0`, and the unsigned compare done as a signed compare of both sides shifted
 * by 2^31), which gives the same bits as the unsigned form and keeps V8 off doubles.
 */
export function fillDropoutMask(
  out: Float32Array,
  seed: number,
  layer: number,
  rate: number,
  keys: NoiseKeys,
  per: number,
): void {
  const count = keys.indices.length;
  const keep = 1 / (1 - rate);
  const base = mix(mix(seed >>> 0, layer), keys.epoch >>> 0);
  // Drop when draw < threshold (unsigned) <=> (draw ^ 2^31) < threshold - 2^31 (signed int32).
  const threshold = Math.floor(rate * 4294967296);
  if (threshold >= 4294967296) {
    out.fill(0, 0, count * per);
    return;
  }
  const shifted = (threshold - 2147483648) | 0;
  for (let i = 0; i < count; i++) {
    const state = mix(base, (keys.indices[i] as number) >>> 0) | 0;
    const row = i * per;
    let z0 = state;
    for (let j = 0; j < per; j++) {
      z0 = (z0 + 0x9e3779b9) | 0; // state + (j + 1) * golden, mod 2^32
      let z = Math.imul(z0 ^ (z0 >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      out[row + j] = (z ^ (z >>> 16) ^ 0x80000000) < shifted ? 0 : keep;
    }
  }
}

/** Constructor arguments of {@link SeededDropout}. */
export interface SeededDropoutArgs {
  name: string;
  rate: number;
  /** Position of the layer in the spec (its own mask stream). */
  layerIndex: number;
  noise: DropoutNoise;
  inputShape?: number[];
}

/**
 * Dropout (inverted: kept units scaled by `1 / (1 - rate)`) whose mask is a pure function of the job
 * seed, the layer, the epoch and the sample (see {@link NoiseKeys}); identity in inference mode.
 * Same config as `tf.layers.dropout`, no weights, so exported models use the stock layer.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'DistrainSeededDropout';
  private readonly rate: number;
  private readonly layerIndex: number;
  private readonly noise: DropoutNoise;

  constructor(args: SeededDropoutArgs) {
    super(
      args.inputShape === undefined ? { name: args.name } : { name: args.name, inputShape: args.inputShape },
    );
    this.rate = args.rate;
    this.layerIndex = args.layerIndex;
    this.noise = args.noise;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    // A mask can be made ahead of the forward pass when every per-sample dimension is known.
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const sample = shape.slice(1);
    if (this.rate > 0 && sample.every((d) => typeof d === 'number' && d > 0))
      this.noise.layers.set(this.layerIndex, { rate: this.rate, sampleShape: sample as number[] });
    super.build(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      if (kwargs.training !== true || this.rate === 0) return tf.clone(x);
      const premade = this.noise.premade?.get(this.layerIndex);
      if (premade !== undefined && tf.util.arraysEqual(premade.shape, x.shape)) return tf.mul(x, premade);
      const keys = this.noise.keysFor(x.shape[0] ?? 0);
      return tf.mul(x, this.noise.mask(this.layerIndex, this.rate, x.shape, keys));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, layerIndex: this.layerIndex };
  }
}
