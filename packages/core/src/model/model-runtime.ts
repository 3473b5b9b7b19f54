// Over 400 lines: one class owns the tfjs model (train, accumulate, evaluate, export) and its tensors.
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec, LossName } from '../job-spec.ts';
import type { ParamMap, VariableInfo } from '../variables.ts';
import { buildModel } from './build-model.ts';
import { filledTensor, firstValue, readInto } from './heap-io.ts';
import { labelsTensor, perSampleLoss } from './losses.ts';
import { DropoutNoise } from './seeded-dropout.ts';
import type { NoiseKeys } from './seeded-dropout.ts';
import { stageModel, syncedGradients } from './sync-batch-norm.ts';
import type { StagedModel, StatExchange } from './sync-batch-norm.ts';
import { modelVariables } from './variables.ts';
import { inferShapes } from './validate.ts';

/** Options of {@link ModelRuntime}. */
export interface ModelRuntimeOptions {
  layers: LayerSpec[];
  loss: LossName;
  /** Per-sample model input shape, e.g. [784] or [28, 28, 1]. */
  inputShape: number[];
  /** Classes of the dataset (for binary sigmoid: 2 with one output unit). */
  numClasses: number;
  /** Inputs are multiplied by this after the cast to float32 (e.g. 1/255 for uint8 images). @default 1 */
  featureScale?: number;
  /** Micro-batches a trainer accumulates before one push (informational for callers). @default 1 */
  accumulateSteps?: number;
  /** Seed of tfjs's own initializers (parameters are normally set by `setParameters`). @default 0 */
  seed?: number;
  /** Seed of the dropout masks (the job seed; masks also depend on epoch and sample). @default seed */
  dropoutSeed?: number;
  /**
   * Sets of accumulation buffers used in turn: with 2, the gradient arrays {@link
   * ModelRuntime.takeAccumulated} returns stay unchanged through the next step too (a push of them
   * may still be in flight while the next step computes). @default 1
   */
  gradientBuffers?: 1 | 2;
}

/** Gradients of one (micro-)batch. */
export interface GradientResult {
  /** SUM over samples of the loss gradient, trainable variables only, by variable name. */
  grads: ParamMap;
  /** Non-trainable values after the forward pass (batch-norm moving statistics), by variable name. */
  states: ParamMap;
  /** Sum over samples of the per-sample loss. */
  lossSum: number;
  /** Samples in the batch. */
  count: number;
}

/** Evaluation of one batch in inference mode. */
export interface BatchEvaluation {
  lossSum: number;
  /** Samples predicted right (multi-label sigmoid: all labels right). */
  correct: number;
  /** Predicted class per sample ([count]); multi-label sigmoid: 0/1 per output ([count, k]). */
  predicted: Int32Array;
  /** [count, numClasses] softmax probabilities (binary sigmoid: [1-p, p]; multi-label: sigmoid per label; MSE: raw outputs). */
  probabilities: Float32Array;
  count: number;
}

/** A model in TensorFlow.js layers format: model.json (weights manifest -> 'weights.bin') and the weights. */
export interface ExportedModel {
  modelJson: string;
  weights: Buffer;
}

/** A batch already in the backend: see {@link ModelRuntime.prepareBatch}. */
interface PreparedBatch {
  features: Uint8Array | Float32Array | Int32Array;
  labels: Int32Array | Float32Array;
  count: number;
  keys: NoiseKeys;
  x: tf.Tensor;
  y: tf.Tensor;
  /** Dropout keep-masks by layer index. */
  masks: Map<number, tf.Tensor>;
}

function disposePrepared(p: PreparedBatch): void {
  tf.dispose([p.x, p.y, ...p.masks.values()]);
}

/** Whether two arrays are the same memory (views of the same bytes), or the same array. */
function sameView(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a === b) return true;
  if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return false;
  return (
    a.buffer === b.buffer &&
    a.byteOffset === b.byteOffset &&
    a.byteLength === b.byteLength &&
    a.constructor === b.constructor
  );
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Owns the tfjs model of a trainer or evaluator: loads parameters, computes summed gradients of a
 * batch in training mode (fresh every call), evaluates in inference mode, exports the model.
 * All tensors of a call live in `tf.tidy`; `tf.memory().numTensors` stays flat across steps.
 */
export class ModelRuntime {
  /** Variables in the fixed order shared with the parameter server (trainable first, then state). */
  readonly variables: VariableInfo[];
  /** The training model (fast dense layers). */
  readonly model: tf.LayersModel;
  readonly loss: LossName;
  readonly inputShape: number[];
  readonly numClasses: number;
  readonly featureScale: number;
  readonly accumulateSteps: number;
  /** Output units of the last layer. */
  readonly outputUnits: number;
  private readonly layers: LayerSpec[];
  private readonly tfVars: tf.Variable[];
  private readonly trainable: { info: VariableInfo; v: tf.Variable }[];
  private readonly trainableVars: tf.Variable[];
  private readonly state: { info: VariableInfo; v: tf.Variable }[];
  private readonly byName: Map<string, { info: VariableInfo; v: tf.Variable }>;
  /** Accumulation buffers (trainable variables, by name), allocated once each; see takeAccumulated. */
  private readonly accSets: (ParamMap | undefined)[];
  /** Sets of accumulation buffers used in turn (`gradientBuffers`). */
  get gradientBuffers(): number {
    return this.accSets.length;
  }
  /** The set of {@link accSets} the current accumulation uses. */
  private accIndex = 0;
  private acc: { states: ParamMap; lossSum: number; count: number } | undefined;
  private staged: StagedModel | undefined;
  /** A batch moved into the backend ahead of its step (prepareBatch). */
  private prepared: PreparedBatch | undefined;
  private readonly noise: DropoutNoise;
  private disposed = false;

  constructor(options: ModelRuntimeOptions) {
    this.layers = options.layers;
    this.loss = options.loss;
    this.inputShape = [...options.inputShape];
    this.numClasses = options.numClasses;
    this.featureScale = options.featureScale ?? 1;
    this.accumulateSteps = options.accumulateSteps ?? 1;
    this.accSets = new Array<ParamMap | undefined>(options.gradientBuffers ?? 1).fill(undefined);
    const shapes = inferShapes(options.layers, options.inputShape);
    const out = shapes[shapes.length - 1]?.output ?? [];
    this.outputUnits = size(out);
    this.noise = new DropoutNoise(options.dropoutSeed ?? options.seed ?? 0);
    const buildOptions =
      options.seed === undefined
        ? { inputShape: this.inputShape, dropoutNoise: this.noise }
        : { inputShape: this.inputShape, seed: options.seed, dropoutNoise: this.noise };
    this.model = buildModel(options.layers, buildOptions);
    this.variables = modelVariables(this.model);
    this.tfVars = this.model.weights.map((w) => {
      const v = w.read();
      if (!(v instanceof tf.Variable)) throw new Error(`weight ${w.name} is not a tf.Variable`);
      return v;
    });
    const all = this.variables.map((info, i) => {
      const v = this.tfVars[i];
      if (v === undefined) throw new Error(`no tfjs variable for ${info.name}`);
      return { info, v };
    });
    this.trainable = all.filter((e) => e.info.trainable);
    this.trainableVars = this.trainable.map((e) => e.v);
    this.state = all.filter((e) => !e.info.trainable);
    this.byName = new Map(all.map((e) => [e.info.name, e]));
  }

  /** Loads parameter values (any subset of the variables, by name) into the model. */
  setParameters(params: ParamMap): void {
    this.checkAlive();
    tf.tidy(() => {
      for (const [name, values] of params) {
        const e = this.byName.get(name);
        if (e === undefined) throw new Error(`setParameters: unknown variable ${name}`);
        if (values.length !== size(e.info.shape)) {
          throw new Error(
            `setParameters: ${name} has ${values.length} values, shape [${e.info.shape.join(', ')}] needs ${size(e.info.shape)}`,
          );
        }
        e.v.assign(tf.tensor(values, e.info.shape, 'float32'));
      }
    });
  }

  /** Current values of all variables (a copy), by name. */
  getParameters(): ParamMap {
    this.checkAlive();
    const out: ParamMap = new Map();
    for (const [name, e] of this.byName) out.set(name, Float32Array.from(e.v.dataSync() as Float32Array));
    return out;
  }

  /**
   * Gradients of the loss SUM over `count` samples, w.r.t. the trainable variables, in training mode
   * (dropout on, batch-norm batch statistics, moving statistics updated). Fresh every call: nothing
   * carries over from the previous call. `count` = 0 gives zero gradients and lossSum 0.
   *
   * @param features `count` samples, C-order; integers are cast to float32 and multiplied by
   *   `featureScale` before the first layer (floats are scaled too).
   * @param featureShape per-sample shape of `features`; must have as many elements as `inputShape`.
   * @param labels class ids (Int32Array) or float targets, see `labelsTensor`.
   * @param keys epoch and train-split index of each sample: dropout masks are then a function of the
   *   sample (identical for any trainer count and across runs); without keys they follow call order.
   */
  computeGradients(
    features: Uint8Array | Float32Array | Int32Array,
    featureShape: readonly number[],
    labels: Int32Array | Float32Array,
    count: number,
    keys?: NoiseKeys,
  ): GradientResult {
    this.checkAlive();
    if (count === 0) return { grads: this.zeroGrads(), states: this.readStates(), lossSum: 0, count: 0 };
    const grads = this.zeroGrads();
    const lossSum = this.gradientsInto(grads, false, features, featureShape, labels, count, keys);
    return { grads, states: this.readStates(), lossSum, count };
  }

  /**
   * Runs forward and backward in training mode and copies (`add` false) or adds (`add` true) the
   * gradient sums into `into`, reading them straight from the backend's memory (no per-step
   * buffers). Returns the loss sum.
   */
  private gradientsInto(
    into: ParamMap,
    add: boolean,
    features: Uint8Array | Float32Array | Int32Array,
    featureShape: readonly number[],
    labels: Int32Array | Float32Array,
    count: number,
    keys: NoiseKeys | undefined,
  ): number {
    let loss = 0;
    const prepared = this.takePrepared(features, labels, count, keys);
    this.noise.keys = keys;
    this.noise.premade = prepared?.masks;
    try {
      tf.tidy(() => {
        const x = prepared?.x ?? this.inputTensor(features, featureShape, count);
        const y = prepared?.y ?? labelsTensor(this.loss, labels, count, this.outputUnits);
        const { value, grads: g } = tf.variableGrads(() => {
          const out = this.model.apply(x, { training: true });
          if (Array.isArray(out) || !(out instanceof tf.Tensor))
            throw new Error('model output must be one tensor');
          return tf.sum(perSampleLoss(this.loss, out, y));
        }, this.trainableVars);
        for (const e of this.trainable) {
          const t = g[e.v.name];
          const buf = into.get(e.info.name);
          if (buf === undefined) throw new Error(`gradients: no buffer for ${e.info.name}`);
          // A variable the loss does not reach has no gradient: zero.
          if (t === undefined) {
            if (!add) buf.fill(0);
            continue;
          }
          readInto(t, buf, add);
        }
        loss = firstValue(value);
      });
    } finally {
      this.noise.keys = undefined;
      this.noise.premade = undefined;
      if (prepared !== undefined) disposePrepared(prepared);
    }
    return loss;
  }

  /**
   * Moves a coming batch into the backend ahead of its step: the cast and scaled input, the labels
   * and every dropout mask, none of which depends on the parameters. A trainer calls it while its
   * gradient exchange is in flight, so that work leaves the step's critical path. The next
   * {@link accumulateGradients} or {@link computeGradients} of the same arrays, count and keys uses
   * them (the same values it would make itself); a call with anything else discards them. Without
   * keys (masks in call order) nothing is prepared. Returns whether the batch was prepared.
   */
  prepareBatch(
    features: Uint8Array | Float32Array | Int32Array,
    featureShape: readonly number[],
    labels: Int32Array | Float32Array,
    count: number,
    keys: NoiseKeys,
  ): boolean {
    this.checkAlive();
    this.discardPrepared();
    if (count === 0 || keys.indices.length !== count) return false;
    const masks = new Map<number, tf.Tensor>();
    const made: tf.Tensor[] = [];
    try {
      const x = this.inputTensor(features, featureShape, count);
      made.push(x);
      const y = labelsTensor(this.loss, labels, count, this.outputUnits);
      made.push(y);
      for (const [layer, { rate, sampleShape }] of this.noise.layers) {
        const mask = this.noise.mask(layer, rate, [count, ...sampleShape], keys);
        made.push(mask);
        masks.set(layer, mask);
      }
      this.prepared = { features, labels, count, keys, x, y, masks };
      return true;
    } catch (err) {
      tf.dispose(made);
      throw err;
    }
  }

  /** Frees a batch prepared by {@link prepareBatch} that will not be used (e.g. the step was abandoned). */
  discardPrepared(): void {
    const p = this.prepared;
    if (p === undefined) return;
    this.prepared = undefined;
    disposePrepared(p);
  }

  /** The prepared batch if it is this one (then no longer held), else undefined (and discarded). */
  private takePrepared(
    features: Uint8Array | Float32Array | Int32Array,
    labels: Int32Array | Float32Array,
    count: number,
    keys: NoiseKeys | undefined,
  ): PreparedBatch | undefined {
    const p = this.prepared;
    if (p === undefined) return undefined;
    const same =
      keys !== undefined &&
      p.count === count &&
      p.keys.epoch === keys.epoch &&
      sameView(p.features, features) &&
      sameView(p.labels, labels) &&
      sameView(p.keys.indices, keys.indices);
    if (!same) {
      this.discardPrepared();
      return undefined;
    }
    this.prepared = undefined;
    return p;
  }

  /** Whether the model has batch-norm layers (whose training statistics are per batch). */
  get hasBatchNorm(): boolean {
    return this.layers.some((l) => l.type === 'batchNormalization');
  }

  /**
   * Like {@link computeGradients}, but every batch-norm layer normalizes with the statistics of the
   * GLOBAL batch of `step` (all ranks' slices, exchanged through `exchange`), and its backward pass
   * uses the global sums, so the sum of all ranks' gradients equals one trainer's gradient of the
   * whole batch (synchronized batch norm; `sync-batch-norm.ts`). The moving statistics are updated
   * from the global statistics, identically on every rank. A rank with `count` = 0 still takes part
   * in every exchange. Models without batch norm just run {@link computeGradients}.
   */
  async computeGradientsSynced(
    features: Uint8Array | Float32Array | Int32Array,
    featureShape: readonly number[],
    labels: Int32Array | Float32Array,
    count: number,
    step: number,
    exchange: StatExchange,
    keys?: NoiseKeys,
  ): Promise<GradientResult> {
    this.checkAlive();
    if (!this.hasBatchNorm) return this.computeGradients(features, featureShape, labels, count, keys);
    this.staged ??= stageModel(
      this.model,
      this.layers,
      (name) => {
        const e = this.byName.get(name);
        if (e === undefined) throw new Error(`no variable ${name}`);
        return e.v;
      },
      this.trainable.map((e) => ({ name: e.info.name, v: e.v })),
    );
    const x = count === 0 ? undefined : this.inputTensor(features, featureShape, count);
    const y = count === 0 ? undefined : labelsTensor(this.loss, labels, count, this.outputUnits);
    this.noise.keys = keys;
    let r: Awaited<ReturnType<typeof syncedGradients>>;
    try {
      r = await syncedGradients(this.staged, x, y, this.loss, step, exchange);
    } finally {
      this.noise.keys = undefined;
      x?.dispose();
      y?.dispose();
    }
    const grads: ParamMap = new Map();
    for (const e of this.trainable) {
      const t = r.grads.get(e.info.name);
      grads.set(e.info.name, t === undefined ? new Float32Array(size(e.info.shape)) : copy(t.dataSync()));
    }
    for (const t of r.grads.values()) t.dispose();
    for (const m of r.moving) {
      m.mean.assign(m.newMean);
      m.variance.assign(m.newVariance);
      m.newMean.dispose();
      m.newVariance.dispose();
    }
    return { grads, states: this.readStates(), lossSum: count === 0 ? 0 : r.lossSum, count };
  }

  /**
   * Like {@link computeGradients}, but adds the result into the runtime's accumulation buffers (for
   * `accumulateSteps` micro-batches per push) instead of returning it. {@link takeAccumulated}
   * returns the sums and empties the buffers. The gradients go from the backend straight into the
   * buffers: no per-step arrays.
   */
  accumulateGradients(
    features: Uint8Array | Float32Array | Int32Array,
    featureShape: readonly number[],
    labels: Int32Array | Float32Array,
    count: number,
    keys?: NoiseKeys,
  ): void {
    this.checkAlive();
    if (count === 0) {
      this.accumulate({ grads: new Map(), states: this.readStates(), lossSum: 0, count: 0 });
      return;
    }
    const into = this.accBuffers();
    const add = this.acc !== undefined;
    const lossSum = this.gradientsInto(into, add, features, featureShape, labels, count, keys);
    this.acc = {
      states: this.readStates(),
      lossSum: (this.acc?.lossSum ?? 0) + lossSum,
      count: (this.acc?.count ?? 0) + count,
    };
  }

  /**
   * Adds a computed result (e.g. of {@link computeGradientsSynced}) into the accumulation buffers:
   * gradient and loss sums added, the states of the latest. A result without some variable's
   * gradient adds zeros for it. {@link takeAccumulated} empties them.
   */
  accumulate(r: GradientResult): void {
    this.checkAlive();
    const into = this.accBuffers();
    const add = this.acc !== undefined;
    for (const [name, buf] of into) {
      const g = r.grads.get(name);
      if (g === undefined) {
        if (!add) buf.fill(0);
        continue;
      }
      if (g.length !== buf.length)
        throw new Error(`accumulate: ${name} has ${g.length} values, not ${buf.length}`);
      if (!add) buf.set(g);
      else for (let i = 0; i < g.length; i++) buf[i] = (buf[i] as number) + (g[i] as number);
    }
    this.acc = {
      states: r.states,
      lossSum: (this.acc?.lossSum ?? 0) + r.lossSum,
      count: (this.acc?.count ?? 0) + r.count,
    };
  }

  /**
   * The accumulated gradient sums (states of the last micro-batch), and empties the buffers.
   * The returned gradient arrays ARE the runtime's buffers, reused by the next
   * {@link accumulateGradients} / {@link accumulate} (with `gradientBuffers: 2`, by the one after
   * that): use (or copy) them before then.
   */
  takeAccumulated(): GradientResult {
    this.checkAlive();
    const grads = this.accBuffers();
    this.accIndex = (this.accIndex + 1) % this.accSets.length;
    const acc = this.acc;
    this.acc = undefined;
    if (acc === undefined) {
      for (const g of grads.values()) g.fill(0);
      return { grads, states: this.readStates(), lossSum: 0, count: 0 };
    }
    return { grads, states: acc.states, lossSum: acc.lossSum, count: acc.count };
  }

  private accBuffers(): ParamMap {
    let set = this.accSets[this.accIndex];
    if (set === undefined) this.accSets[this.accIndex] = set = this.zeroGrads();
    return set;
  }

  /**
   * Evaluates `count` samples in inference mode (no dropout, batch-norm moving statistics), without
   * any gradient tape. Deterministic for fixed parameters.
   */
  evaluate(
    features: Uint8Array | Float32Array | Int32Array,
    labels: Int32Array | Float32Array,
    count: number,
    featureShape: readonly number[] = this.inputShape,
  ): BatchEvaluation {
    this.checkAlive();
    const k = this.outputUnits;
    if (count === 0) {
      return {
        lossSum: 0,
        correct: 0,
        predicted: new Int32Array(0),
        probabilities: new Float32Array(0),
        count: 0,
      };
    }
    let lossSum = 0;
    let outputs: Float32Array = new Float32Array(0);
    let probabilities: Float32Array = new Float32Array(0);
    tf.tidy(() => {
      const x = this.inputTensor(features, featureShape, count);
      const y = labelsTensor(this.loss, labels, count, k);
      const out = this.model.apply(x, { training: false });
      if (Array.isArray(out) || !(out instanceof tf.Tensor))
        throw new Error('model output must be one tensor');
      const o = tf.reshape(out, [count, k]);
      lossSum = tf.sum(perSampleLoss(this.loss, o, y)).dataSync()[0] ?? Number.NaN;
      outputs = copy(o.dataSync());
      if (this.loss === 'softmaxCrossEntropy') probabilities = copy(tf.softmax(o).dataSync());
      else if (this.loss === 'sigmoidCrossEntropy') probabilities = copy(tf.sigmoid(o).dataSync());
      else probabilities = outputs;
    });
    return { ...this.classify(outputs, probabilities, labels, count, k), lossSum, count };
  }

  private classify(
    outputs: Float32Array,
    probs: Float32Array,
    labels: Int32Array | Float32Array,
    count: number,
    k: number,
  ): { correct: number; predicted: Int32Array; probabilities: Float32Array } {
    let correct = 0;
    if (this.loss === 'sigmoidCrossEntropy' && k === 1) {
      // Binary: one logit, probabilities [1-p, p].
      const predicted = new Int32Array(count);
      const probabilities = new Float32Array(count * 2);
      for (let i = 0; i < count; i++) {
        const p = probs[i] ?? 0;
        probabilities[2 * i] = 1 - p;
        probabilities[2 * i + 1] = p;
        predicted[i] = p > 0.5 ? 1 : 0;
        if (predicted[i] === Math.round(labels[i] ?? -1)) correct++;
      }
      return { correct, predicted, probabilities };
    }
    const idLabels = labels.length < count * k || k === 1;
    if (this.loss === 'sigmoidCrossEntropy' && !idLabels) {
      // Multi-label: 0/1 per output; a sample is correct when all its labels are.
      const predicted = new Int32Array(count * k);
      for (let i = 0; i < count; i++) {
        let all = true;
        for (let j = 0; j < k; j++) {
          const p = (probs[i * k + j] ?? 0) > 0.5 ? 1 : 0;
          predicted[i * k + j] = p;
          if (p !== Math.round(labels[i * k + j] ?? -1)) all = false;
        }
        if (all) correct++;
      }
      return { correct, predicted, probabilities: probs };
    }
    const predicted = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      let best = 0;
      let bestValue = -Infinity;
      for (let j = 0; j < k; j++) {
        const v = outputs[i * k + j] ?? -Infinity;
        if (v > bestValue) {
          bestValue = v;
          best = j;
        }
      }
      predicted[i] = k === 1 ? Math.round(bestValue) : best;
      if (idLabels && predicted[i] === labels[i]) correct++;
    }
    return { correct, predicted, probabilities: probs };
  }

  /**
   * The model in TensorFlow.js layers format, built from stock layers (`portable`), so plain
   * `tf.loadLayersModel` loads it. `params` default to the runtime's current values.
   */
  async exportModel(
    params?: ParamMap,
    userDefinedMetadata?: Record<string, unknown>,
  ): Promise<ExportedModel> {
    this.checkAlive();
    const values = params ?? this.getParameters();
    const portable = buildModel(this.layers, { inputShape: this.inputShape, portable: true });
    try {
      tf.tidy(() => {
        portable.weights.forEach((w, i) => {
          const info = this.variables[i];
          if (info === undefined) throw new Error(`export: no variable ${i}`);
          const v = values.get(info.name);
          if (v === undefined) throw new Error(`export: no value for ${info.name}`);
          w.write(tf.tensor(v, info.shape, 'float32'));
        });
      });
      let exported: ExportedModel | undefined;
      await portable.save(
        tf.io.withSaveHandler(async (artifacts) => {
          const weightData =
            artifacts.weightData === undefined
              ? new ArrayBuffer(0)
              : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
          const json: tf.io.ModelJSON = {
            modelTopology: artifacts.modelTopology ?? {},
            format: artifacts.format ?? 'layers-model',
            generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
            convertedBy: null,
            weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
            ...(userDefinedMetadata === undefined
              ? {}
              : {
                  userDefinedMetadata: userDefinedMetadata as NonNullable<
                    tf.io.ModelJSON['userDefinedMetadata']
                  >,
                }),
          };
          exported = { modelJson: JSON.stringify(json), weights: Buffer.from(weightData) };
          return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
        }),
      );
      if (exported === undefined) throw new Error('export: the save handler was not called');
      return exported;
    } finally {
      portable.dispose();
    }
  }

  /** Frees the model's tensors. The runtime is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.discardPrepared();
    this.model.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('ModelRuntime is disposed');
  }

  private zeroGrads(): ParamMap {
    return new Map(this.trainable.map((e) => [e.info.name, new Float32Array(size(e.info.shape))]));
  }

  private readStates(): ParamMap {
    return new Map(this.state.map((e) => [e.info.name, copy(e.v.dataSync())]));
  }

  private inputTensor(
    features: Uint8Array | Float32Array | Int32Array,
    featureShape: readonly number[],
    count: number,
  ): tf.Tensor {
    const per = size(this.inputShape);
    if (size(featureShape) !== per) {
      throw new Error(
        `features of shape [${featureShape.join(', ')}] do not fit the model input [${this.inputShape.join(', ')}]`,
      );
    }
    const n = count * per;
    if (features.length < n)
      throw new Error(`features: ${features.length} values for ${count} samples of ${per}`);
    const shape = [count, ...this.inputShape];
    // Token indices stay int32: the embedding gathers rows by them.
    if (features instanceof Int32Array) return tf.tensor(features.subarray(0, n), shape, 'int32');
    const s = this.featureScale;
    if (features instanceof Float32Array && s === 1)
      return tf.tensor(features.subarray(0, n), shape, 'float32');
    // Cast (and scale) in one pass, straight into the tensor's memory on wasm.
    return filledTensor(shape, (out) => castScale(features, n, s, out));
  }
}

/** out[i] = src[i] * scale for i < n, one monomorphic loop per source type. */
function castScale(src: Uint8Array | Float32Array, n: number, scale: number, out: Float32Array): void {
  if (src instanceof Uint8Array) {
    for (let i = 0; i < n; i++) out[i] = (src[i] as number) * scale;
  } else {
    for (let i = 0; i < n; i++) out[i] = (src[i] as number) * scale;
  }
}

function copy(data: tf.TypedArray | Uint8Array[] | string[]): Float32Array {
  if (data instanceof Float32Array) return data.slice();
  if (data instanceof Int32Array || data instanceof Uint8Array) return Float32Array.from(data);
  throw new Error('expected numeric tensor data');
}
