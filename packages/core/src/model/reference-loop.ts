import type { LayerSpec, LossName, OptimizerConfig } from '../job-spec.ts';
import { Rng, permutation } from '../rng.ts';
import type { ParamMap, VariableInfo } from '../variables.ts';
import { initialParameters } from './init.ts';
import { applyGradients, compileOptimizer, createSlots, slotSuffixes } from '../ps/optimizers.ts';
import { OptimizerArena } from '../ps/optimizer-kernel.ts';
import type { OptimizerSettings } from '../ps/optimizers.ts';
import { clipFactor, sumOfSquares } from '../ps/clip.ts';
import type { PartInfo, PartPlan } from '../ps/partition.ts';
import { partitionPlan } from '../ps/partition.ts';
import type { ScheduleContext } from '../ps/schedule.ts';
import { StepPolicy } from '../ps/step-policy.ts';
import { ModelRuntime } from './model-runtime.ts';

/** A dataset split in host memory: `count` samples, C-order. */
export interface HostSplit {
  features: Uint8Array | Float32Array | Int32Array;
  labels: Int32Array | Float32Array;
  count: number;
}

/** Options of {@link trainReference}. */
export interface ReferenceOptions {
  layers: LayerSpec[];
  loss: LossName;
  optimizer: OptimizerConfig;
  batchSize: number;
  epochs: number;
  seed: number;
  train: HostSplit;
  test: HostSplit;
  /** Per-sample shape of the features, e.g. [784] or [28, 28, 1]. */
  featureShape: number[];
  /** Model input shape. @default featureShape */
  inputShape?: number[];
  /** @default 1 */
  featureScale?: number;
  numClasses: number;
  /** Stop each epoch after this many steps (quick checks). @default all */
  maxStepsPerEpoch?: number;
  /** Stop after the first epoch whose test accuracy reaches this. @default never */
  targetAccuracy?: number;
  /** Called after every step with the batch's mean loss. */
  onStep?: (step: number, meanLoss: number) => void;
  /** Also evaluate the test split every this many steps (time excluded from training). @default never */
  evaluateEvery?: number;
}

/** A test evaluation of {@link trainReference} every `evaluateEvery` steps. */
export interface ReferenceEvaluation {
  /** Steps done before it. */
  step: number;
  /** Training seconds since the start (evaluations excluded). */
  seconds: number;
  testAccuracy: number;
}

/** One epoch of {@link trainReference}. */
export interface ReferenceEpoch {
  epoch: number;
  trainLoss: number;
  testAccuracy: number;
  testLoss: number;
  /** Training time of the epoch (evaluation excluded). */
  seconds: number;
  samplesPerSecond: number;
}

/** Result of {@link trainReference}. */
export interface ReferenceResult {
  epochs: ReferenceEpoch[];
  /** Final parameters. */
  params: ParamMap;
  /** The evaluations every `evaluateEvery` steps (empty without it). */
  evaluations: ReferenceEvaluation[];
}

/**
 * The optimizer math of the parameter server on Float32Arrays: the gradient SUM is divided by the
 * sample count, then SGD / momentum (optionally Nesterov) / Adam (bias-corrected, epsilon 1e-7 by
 * default) is applied, with optional decoupled weight decay. Slots are named `<var>/m`, `<var>/v`.
 */
export class HostOptimizer {
  private readonly settings: OptimizerSettings;
  private readonly policy: StepPolicy;
  private readonly slots = new Map<string, Float32Array[]>();
  private t = 0;
  /** Trainable parts in plan order: the order the shards sum the squared norm in (clipping). */
  private normParts: readonly PartInfo[] | undefined;
  /** From a config (compiled here) or from settings already compiled, e.g. the shards' own. */
  constructor(config: OptimizerConfig | { compiled: OptimizerSettings }, context?: ScheduleContext) {
    this.settings = 'compiled' in config ? config.compiled : compileOptimizer(config, 'optimizer', context);
    this.policy = new StepPolicy(this.settings);
  }

  /**
   * A copy of `params` for {@link apply} to update: every variable and its optimizer slots in one
   * {@link OptimizerArena}, as a shard keeps its parts, so each step runs in the kernel in place
   * (arrays from elsewhere are copied into a scratch arena and back every step: 1.8 against 1.0 ms
   * for the 235k-parameter MLP here). Plain copies when no wasm32 memory is large enough.
   */
  adopt(params: ParamMap): ParamMap {
    const suffixes = slotSuffixes(this.settings.type);
    let elements = 0;
    let largest = 0;
    for (const p of params.values()) {
      elements += p.length * (1 + suffixes.length);
      largest = Math.max(largest, p.length);
    }
    const arena = OptimizerArena.create(elements, params.size * (1 + suffixes.length), largest);
    const own: ParamMap = new Map();
    for (const [name, p] of params) {
      const copy = arena ? arena.alloc(p.length) : new Float32Array(p.length);
      copy.set(p);
      own.set(name, copy);
      if (arena)
        this.slots.set(
          name,
          suffixes.map(() => arena.alloc(p.length)),
        );
    }
    return own;
  }

  /**
   * Sums the squared gradient norm part by part in the order of `plan` (its trainable parts), as the
   * shards do (`NormExchange`), instead of variable by variable: with clipping, the step is then
   * bit-identical to the shards' for any shard count.
   */
  clipByParts(plan: PartPlan): void {
    this.normParts = plan.parts.filter((p) => p.trainable);
  }

  /** Learning rate of the last applied step. */
  get learningRate(): number {
    return this.policy.learningRate;
  }

  /**
   * Applies one step in place to `params` from gradient sums over `count` samples: the scheduled
   * learning rate, global-norm clipping of the mean gradient, weight decay where its scope says.
   */
  apply(params: ParamMap, gradSums: ParamMap, count: number): void {
    this.t++;
    this.policy.begin(this.t - 1);
    let scale = count > 0 ? 1 / count : 0;
    if (this.settings.clipNorm > 0 && count > 0) {
      let sq = 0;
      if (this.normParts === undefined) {
        for (const gs of gradSums.values()) sq += sumOfSquares([gs], scale);
      } else {
        for (const part of this.normParts) {
          const gs = gradSums.get(part.variable);
          if (gs !== undefined)
            sq += sumOfSquares([gs.subarray(part.offset, part.offset + part.length)], scale);
        }
      }
      // factor / count, as a shard computes its scale (not (1 / count) * factor: one rounding apart).
      scale = clipFactor(Math.sqrt(sq), this.settings.clipNorm) / count;
    }
    for (const [name, gs] of gradSums) {
      const p = params.get(name);
      if (p === undefined) throw new Error(`optimizer: no parameter ${name}`);
      let slots = this.slots.get(name);
      if (slots === undefined) {
        slots = createSlots(this.settings.type, p.length);
        this.slots.set(name, slots);
      }
      applyGradients(this.policy.settingsFor(name), p, slots, [gs], scale, this.t);
    }
  }
}

function gatherRows<T extends Uint8Array | Float32Array | Int32Array>(
  src: T,
  idx: Uint32Array,
  from: number,
  n: number,
  per: number,
  out: T,
): T {
  for (let r = 0; r < n; r++) {
    const s = (idx[from + r] as number) * per;
    out.set(src.subarray(s, s + per), r * per);
  }
  return out;
}

/** Evaluates a whole split in chunks; returns accuracy and mean loss. */
export function evaluateSplit(
  runtime: ModelRuntime,
  split: HostSplit,
  featureShape: number[],
  chunk = 2000,
): { accuracy: number; loss: number } {
  const per = featureShape.reduce((a, b) => a * b, 1);
  const lper = split.labels.length / Math.max(1, split.count);
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < split.count; i += chunk) {
    const n = Math.min(chunk, split.count - i);
    const r = runtime.evaluate(
      split.features.subarray(i * per, (i + n) * per),
      split.labels.subarray(i * lper, (i + n) * lper),
      n,
      featureShape,
    );
    correct += r.correct;
    loss += r.lossSum;
  }
  return { accuracy: correct / split.count, loss: loss / split.count };
}

/**
 * The plain single-process tfjs training loop that distributed runs and benchmarks are compared to:
 * seeded initial parameters, per-epoch seeded shuffle `permutation(n, new Rng(seed, epoch))`,
 * `ModelRuntime.accumulateGradients` (loss sum) then {@link HostOptimizer} (sum / n, then the
 * optimizer), test accuracy after every epoch. The caller selects the backend first.
 */
export function trainReference(options: ReferenceOptions): ReferenceResult {
  const inputShape = options.inputShape ?? options.featureShape;
  const runtime = new ModelRuntime({
    layers: options.layers,
    loss: options.loss,
    inputShape,
    numClasses: options.numClasses,
    featureScale: options.featureScale ?? 1,
    dropoutSeed: options.seed,
  });
  try {
    const variables: VariableInfo[] = runtime.variables;
    const stepsPerEpoch = Math.min(
      Math.ceil(options.train.count / options.batchSize),
      options.maxStepsPerEpoch ?? Infinity,
    );
    const optimizer = new HostOptimizer(options.optimizer, {
      stepsPerEpoch,
      totalSteps: stepsPerEpoch * options.epochs,
    });
    optimizer.clipByParts(partitionPlan(variables, 1));
    const params = optimizer.adopt(initialParameters(variables, options.seed));
    runtime.setParameters(params);
    const per = options.featureShape.reduce((a, b) => a * b, 1);
    const { train } = options;
    const lper = train.labels.length / train.count;
    const bs = options.batchSize;
    const xb = train.features instanceof Uint8Array ? new Uint8Array(bs * per) : new Float32Array(bs * per);
    const yb = train.labels instanceof Int32Array ? new Int32Array(bs * lper) : new Float32Array(bs * lper);
    const epochs: ReferenceEpoch[] = [];
    const evaluations: ReferenceEvaluation[] = [];
    const every = options.evaluateEvery ?? 0;
    let trained = 0; // training seconds of the epochs before this one
    let step = 0;
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = permutation(train.count, new Rng(options.seed, epoch));
      const t0 = performance.now();
      let paused = 0; // ms of evaluations inside this epoch
      let seen = 0;
      let lossTotal = 0;
      const steps = Math.min(Math.ceil(train.count / bs), options.maxStepsPerEpoch ?? Infinity);
      for (let s = 0; s < steps; s++) {
        const from = s * bs;
        const n = Math.min(bs, train.count - from);
        gatherRows(train.features, order, from, n, per, xb);
        gatherRows(train.labels, order, from, n, lper, yb);
        // The accumulation path reads the gradients into the runtime's reused buffers (no per-step
        // arrays), as a trainer does; they are used before the next step.
        runtime.accumulateGradients(xb, options.featureShape, yb, n, {
          epoch,
          indices: order.subarray(from, from + n),
        });
        const r = runtime.takeAccumulated();
        optimizer.apply(params, r.grads, n);
        // Batch-norm moving statistics: a single process simply keeps the latest values.
        for (const [name, v] of r.states) params.set(name, v);
        runtime.setParameters(params);
        seen += n;
        lossTotal += r.lossSum;
        // Not `onStep?.(step++, ...)`: optional chaining would skip the increment without a callback.
        options.onStep?.(step, r.lossSum / n);
        step++;
        if (every > 0 && step % every === 0) {
          const at = performance.now();
          const seconds = trained + (at - t0 - paused) / 1000;
          evaluations.push({
            step,
            seconds,
            testAccuracy: evaluateSplit(runtime, options.test, options.featureShape).accuracy,
          });
          paused += performance.now() - at;
        }
      }
      const seconds = (performance.now() - t0 - paused) / 1000;
      trained += seconds;
      const test = evaluateSplit(runtime, options.test, options.featureShape);
      epochs.push({
        epoch,
        trainLoss: lossTotal / seen,
        testAccuracy: test.accuracy,
        testLoss: test.loss,
        seconds,
        samplesPerSecond: seen / seconds,
      });
      if (options.targetAccuracy !== undefined && test.accuracy >= options.targetAccuracy) break;
    }
    return { epochs, params, evaluations };
  } finally {
    runtime.dispose();
  }
}
