import { OverloadError, ValidationError } from './errors.ts';
import type { LayerSpec, TrainingJob } from './job-spec.ts';
// Pure shape inference (no TensorFlow.js): the budget is checked before any model is built.
import { inferShapes } from './model/validate.ts';

/**
 * Resource budgets of one job, checked at submit without building the model (a spec within the
 * schema can still ask for billions of parameters or hundreds of processes). The coordinator's
 * flags/env set them (`--max-parameters`, `DISTRAIN_MAX_PARAMETERS`, ...).
 */
export interface JobBudget {
  /** Parameters of the model (trainable and not). @default 50_000_000 */
  maxParameters: number;
  /** Layers of the model. @default 64 */
  maxLayers: number;
  /** Trainer processes (`spec.trainers.replicas`). @default 64 */
  maxReplicas: number;
  /** `spec.epochs`. @default 1000 */
  maxEpochs: number;
  /** `spec.batchSize`. @default 65536 */
  maxBatchSize: number;
}

/** The defaults of {@link JobBudget}. */
export const DEFAULT_JOB_BUDGET: Readonly<JobBudget> = Object.freeze({
  maxParameters: 50_000_000,
  maxLayers: 64,
  maxReplicas: 64,
  maxEpochs: 1000,
  maxBatchSize: 65536,
});

/** The flag and env names of each budget (the coordinator's `--max-*` options). */
export const JOB_BUDGET_FLAGS: Readonly<Record<keyof JobBudget, string>> = Object.freeze({
  maxParameters: 'max-parameters',
  maxLayers: 'max-layers',
  maxReplicas: 'max-replicas',
  maxEpochs: 'max-epochs',
  maxBatchSize: 'max-batch-size',
});

function over(field: string, value: number, limit: number, key: keyof JobBudget, what: string): never {
  throw new OverloadError(
    `${field}: ${what} ${value} exceeds this coordinator's budget of ${limit}; lower it, or start the coordinator with --${JOB_BUDGET_FLAGS[key]} (env DISTRAIN_${JOB_BUDGET_FLAGS[key].replace(/-/g, '_').toUpperCase()})`,
    { field },
  );
}

/**
 * Checks the budgets that need no dataset: layers, replicas, epochs, batch size, and replicas not
 * above the batch size (a trainer with an empty slice on every step is a spec mistake). Throws an
 * OverloadError (RESOURCE_EXHAUSTED) naming the field and the budget, or a ValidationError.
 */
export function checkJobBudget(job: TrainingJob, budget: Readonly<JobBudget> = DEFAULT_JOB_BUDGET): void {
  const s = job.spec;
  if (s.model.layers.length > budget.maxLayers)
    over('spec.model.layers', s.model.layers.length, budget.maxLayers, 'maxLayers', 'the layer count');
  if (s.trainers.replicas > budget.maxReplicas)
    over(
      'spec.trainers.replicas',
      s.trainers.replicas,
      budget.maxReplicas,
      'maxReplicas',
      'the trainer count',
    );
  if (s.epochs > budget.maxEpochs)
    over('spec.epochs', s.epochs, budget.maxEpochs, 'maxEpochs', 'the epoch count');
  if (s.batchSize > budget.maxBatchSize)
    over('spec.batchSize', s.batchSize, budget.maxBatchSize, 'maxBatchSize', 'the batch size');
  if (s.trainers.replicas > s.batchSize)
    throw new ValidationError(
      'spec.trainers.replicas',
      `is ${s.trainers.replicas} but spec.batchSize is ${s.batchSize}: every trainer needs at least one sample per step; use at most ${s.batchSize} replicas or a larger batch`,
    );
}

/** Checks the model's parameter count (arithmetic, {@link countParameters}) against the budget. */
export function checkParameterBudget(
  layers: readonly LayerSpec[],
  inputShape: readonly number[],
  budget: Readonly<JobBudget> = DEFAULT_JOB_BUDGET,
): number {
  const n = countParameters(layers, inputShape);
  if (n > budget.maxParameters)
    over('spec.model.layers', n, budget.maxParameters, 'maxParameters', 'the model parameter count');
  return n;
}

/**
 * Parameters of a layer list (trainable and state variables), computed from the shapes alone: the
 * same count tfjs builds (`build-model.test.ts` compares them), without allocating anything.
 */
export function countParameters(layers: readonly LayerSpec[], inputShape: readonly number[]): number {
  const shapes = inferShapes(layers, inputShape);
  let total = 0;
  layers.forEach((layer, i) => {
    const input = shapes[i]?.input ?? [];
    const inDim = input[input.length - 1] ?? 0;
    total += layerParameters(layer, inDim);
  });
  return total;
}

function recurrent(kind: 'lstm' | 'gru', inDim: number, units: number): number {
  const gates = kind === 'lstm' ? 4 : 3;
  return gates * units * (inDim + units) + gates * units;
}

function layerParameters(layer: LayerSpec, inDim: number): number {
  switch (layer.type) {
    case 'dense':
      return inDim * layer.units + (layer.useBias === false ? 0 : layer.units);
    case 'batchNormalization':
      return 4 * inDim; // gamma, beta, moving mean, moving variance
    case 'conv2d': {
      const k = Array.isArray(layer.kernelSize) ? layer.kernelSize : [layer.kernelSize, layer.kernelSize];
      return (
        (k[0] ?? 1) * (k[1] ?? 1) * inDim * layer.filters + (layer.useBias === false ? 0 : layer.filters)
      );
    }
    case 'conv1d':
      return layer.kernelSize * inDim * layer.filters + layer.filters;
    case 'embedding':
      return (layer.inputDim ?? 0) * layer.outputDim;
    case 'lstm':
    case 'gru':
      return recurrent(layer.type, inDim, layer.units);
    case 'bidirectional':
      return 2 * recurrent(layer.layer.type, inDim, layer.layer.units);
    default:
      return 0;
  }
}
