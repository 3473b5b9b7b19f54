/** Which part of a dataset. */
export type SplitName = 'train' | 'test';

/** Element type of a dataset's features as kept in memory and sent on the wire. */
export type FeatureDType = 'uint8' | 'float32' | 'int32';

/** One split of a decoded dataset: `count` samples, row-major, sample `i` at `i * sampleSize`. */
export interface SplitData {
  /** Number of samples. */
  count: number;
  /** All samples' features back to back (`count * product(featureShape)` elements). */
  features: Uint8Array | Float32Array | Int32Array;
  /** One label per sample: int32 class indices, or float32 targets for regression CSVs. */
  labels: Int32Array | Float32Array;
  /** Text datasets: real tokens per sample (before padding), sent with each batch. */
  lengths?: Int32Array;
  /** Text datasets: each sample's cleaned text (for predictions). */
  texts?: string[];
}

/** Corpus statistics of a text dataset, reported by DescribeDataset and the job's log. */
export interface TextDatasetStats {
  files: number;
  legacyEncodedFiles: number;
  /** Entries left out, by reason (empty, too-long, not-text, duplicate, ...). */
  dropped: Record<string, number>;
  /** Per class: entries available after filtering, and how many went to each split. */
  classCounts: Record<string, { available: number; train: number; test: number }>;
  /** Samples longer than maxLength tokens (cut). */
  truncated: number;
  /** Fraction of the test split's kept tokens that are `<unk>`. */
  testUnknownRate: number;
  /** Mean tokens per sample after truncation. */
  meanLength: number;
}

/** What a text dataset adds to a {@link Dataset}. */
export interface TextDatasetInfo {
  /** Index = token id; `<pad>` at 0, `<unk>` at 1; built from the training split only. */
  vocabulary: readonly string[];
  stats: TextDatasetStats;
}

/** A dataset decoded once and kept in the process-wide cache (shared by every job). */
export interface Dataset {
  /** Canonical cache key, e.g. `fashion-mnist:/usr/share/datasets/fashion-mnist`. */
  id: string;
  /** Shape of one sample, e.g. `[28, 28, 1]`. */
  featureShape: number[];
  /** dtype of features in memory and on the wire (uint8 images, float32 tabular data). */
  featureDtype: FeatureDType;
  /** Consumers multiply features by this after casting to float32 (1/255 for uint8 images). */
  featureScale: number;
  /** Number of classes; 0 for regression targets. */
  numClasses: number;
  /** Name of each class, index = class id (empty for regression). */
  classNames: string[];
  /** dtype of labels: int32 class indices or float32 regression targets. */
  labelDtype: 'int32' | 'float32';
  train: SplitData;
  test: SplitData;
  /** Text datasets only: vocabulary and corpus statistics. */
  text?: TextDatasetInfo;
}

/** Names of the datasets the loader knows. */
export const DATASET_NAMES = [
  'mnist',
  'fashion-mnist',
  'idx',
  'csv',
  'text',
  'fortunes-language',
  'fortunes-topic',
] as const;
/** Names of the text datasets (int32 index sequences). */
export const TEXT_DATASET_NAMES = ['text', 'fortunes-language', 'fortunes-topic'] as const;
/** A known dataset name. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/**
 * A dataset spec as it arrives: the camelCase `DatasetConfig` of a TrainingJob, the proto
 * `DatasetSpec` (proto-loader camelCases it too), or snake_case JSON. Empty strings and zeros mean
 * "default", as in proto3.
 */
export interface DatasetSpecInput {
  name?: string | null;
  path?: string | null;
  testPath?: string | null;
  test_path?: string | null;
  labelColumn?: string | null;
  label_column?: string | null;
  testFraction?: number | string | null;
  test_fraction?: number | string | null;
  sampleCount?: number | null;
  sample_count?: number | null;
  standardize?: boolean | null;
  // Text datasets (camelCase, as the job spec and proto-loader give them).
  format?: string | null;
  textField?: string | null;
  labelField?: string | null;
  tokenizer?: string | null;
  lowercase?: boolean | null;
  maxLength?: number | null;
  pad?: string | null;
  truncate?: string | null;
  minFrequency?: number | null;
  maxVocabulary?: number | null;
  /** The job spec nests these as `vocabulary: { minFrequency, maxSize }`. */
  vocabulary?: { minFrequency?: number | null; maxSize?: number | null } | null;
  maxPerClass?: number | null;
  /** An already resolved spec's text options (re-resolving a resolved spec keeps them). */
  text?: Partial<ResolvedTextSpec> | null;
}

/** A validated spec with every default filled in (frozen). Fields that do not apply are empty. */
export interface ResolvedDatasetSpec {
  readonly name: DatasetName;
  /** Absolute folder of IDX files, or absolute training CSV file; '' for mnist. */
  readonly path: string;
  /** csv only: absolute test CSV file, or ''. */
  readonly testPath: string;
  /** csv only: label column name or zero-based index. @default 'label' */
  readonly labelColumn: string;
  /** csv only, without testPath: fraction of rows held out for the test split. @default 0.2 */
  readonly testFraction: number;
  /** mnist only: samples generated (train + test). @default 10000 */
  readonly sampleCount: number;
  /** csv only: standardize features with the training split's mean and standard deviation. @default false */
  readonly standardize: boolean;
  /** Text datasets only (undefined otherwise). */
  readonly text?: ResolvedTextSpec;
}

/** A text dataset's resolved options. */
export interface ResolvedTextSpec {
  /** 'text' only. */
  readonly format: 'tsv' | 'csv' | 'jsonl' | '';
  readonly textField: string;
  readonly labelField: string;
  readonly tokenizer: 'word' | 'char' | 'segmenter';
  readonly lowercase: boolean;
  readonly maxLength: number;
  readonly pad: 'start' | 'end';
  readonly truncate: 'start' | 'end';
  readonly minFrequency: number;
  readonly maxVocabulary: number;
  readonly maxPerClass: number;
}
