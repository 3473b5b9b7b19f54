/**
 * data-loader entry point: wiring only, through the shared service bootstrap
 * (`@distrain/core/service`: common flags, listening line, graceful SIGTERM/SIGINT).
 *
 *   node --import tsx services/data-loader/src/main.ts [--port N] [--host H] [--max-message-bytes B]
 *        [--metrics-port M] [--log-level L]
 *
 *        [--data-root DIR]... [--max-dataset-bytes B] [--dataset-cache-bytes B]
 *
 * Env: DISTRAIN_PORT (or DISTRAIN_LOADER_PORT), DISTRAIN_HOST (or DISTRAIN_LOADER_HOST),
 * DISTRAIN_METRICS_PORT (or DISTRAIN_LOADER_METRICS_PORT), DISTRAIN_MAX_MESSAGE_BYTES, DISTRAIN_LOG_LEVEL,
 * DISTRAIN_DATA_ROOTS (`:`-separated), DISTRAIN_MAX_DATASET_BYTES, DISTRAIN_DATASET_CACHE_BYTES.
 */
import { delimiter } from 'node:path';
import {
  DEFAULT_DATASET_CACHE_BYTES,
  DEFAULT_MAX_DATASET_BYTES,
  setDatasetAccess,
  setDatasetCacheLimit,
} from '@distrain/core/datasets';
import { createLoaderMetrics } from '@distrain/core/metrics';
import type { LoaderMetrics } from '@distrain/core/metrics';
import { intFlag, runService } from '@distrain/core/service';
import { dataRoots } from './data-roots.ts';
import { startLoaderServer } from './loader-service.ts';

await runService({
  role: 'data-loader',
  envAliases: {
    port: 'DISTRAIN_LOADER_PORT',
    host: 'DISTRAIN_LOADER_HOST',
    'metrics-port': 'DISTRAIN_LOADER_METRICS_PORT',
  },
  flags: {
    // Datasets are read only under the built-in dataset folders and these (default: the current
    // folder and the examples); regular files only, at most --max-dataset-bytes.
    'data-root': { env: 'DISTRAIN_DATA_ROOTS', multiple: true, help: 'DIR (repeatable)' },
    'max-dataset-bytes': { env: 'DISTRAIN_MAX_DATASET_BYTES', default: String(DEFAULT_MAX_DATASET_BYTES) },
    // Decoded datasets kept for later jobs, least recently used evicted first.
    'dataset-cache-bytes': {
      env: 'DISTRAIN_DATASET_CACHE_BYTES',
      default: String(DEFAULT_DATASET_CACHE_BYTES),
    },
  },
  async start({ flags, registry, address, maxMessageBytes, logger, security }) {
    const roots = (flags['data-root'] ?? '').split(delimiter).filter((r) => r !== '');
    setDatasetAccess({
      roots: dataRoots(roots),
      maxBytes: intFlag(flags['max-dataset-bytes'], 'max-dataset-bytes', 1, Number.MAX_SAFE_INTEGER),
    });
    setDatasetCacheLimit(
      intFlag(flags['dataset-cache-bytes'], 'dataset-cache-bytes', 0, Number.MAX_SAFE_INTEGER),
    );
    // The gauges read the service at scrape time, after `loader` below exists.
    const metrics: LoaderMetrics = createLoaderMetrics(registry, {
      streams: () => loader.service.openStreams(),
      queuedBatches: () => loader.service.queuedBatches(),
    });
    const loader = await startLoaderServer({
      address,
      maxMessageBytes,
      logger,
      security,
      onBatch: (b) => metrics.batch(b),
      onRelease: (jobId) => metrics.released(jobId),
    });
    return { port: loader.server.port, shutdown: () => loader.shutdown(5_000) };
  },
});
