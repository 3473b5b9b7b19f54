import type { SplitData } from './types.ts';

/** Samples gathered from a split: contiguous features and labels plus their dataset indices. */
export interface GatheredBatch {
  /** `count * sampleSize` elements, same dtype as the split. */
  features: Uint8Array | Float32Array;
  labels: Int32Array | Float32Array;
  /** Dataset index of each sample, in batch order. */
  indices: Uint32Array;
}

/** Elements per sample of a split (product of the feature shape). */
export function sampleSizeOf(split: SplitData): number {
  return split.count === 0 ? 0 : split.features.length / split.count;
}

/**
 * Copies samples `order[start] .. order[start + count - 1]` of `split` into new contiguous arrays
 * (one `set(subarray)` per sample, no per-element loop).
 */
export function gatherBatch(
  split: SplitData,
  order: ArrayLike<number>,
  start: number,
  count: number,
): GatheredBatch {
  const size = sampleSizeOf(split);
  const features =
    split.features instanceof Uint8Array ? new Uint8Array(count * size) : new Float32Array(count * size);
  const labels = split.labels instanceof Int32Array ? new Int32Array(count) : new Float32Array(count);
  const indices = new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    const i = order[start + k];
    if (i === undefined || i >= split.count)
      throw new RangeError(`gatherBatch: position ${start + k} is outside the order or the split`);
    indices[k] = i;
    features.set(split.features.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = split.labels[i] as number;
  }
  return { features, labels, indices };
}
