/**
 * data-loader entry point: wiring only, through the shared service bootstrap
 * (`@distrain/core/service`: common flags, listening line, graceful SIGTERM/SIGINT).
 *
 *   node --import tsx services/data-loader/src/main.ts [--port N] [--host H] [--max-message-bytes B]
 *        [--metrics-port M] [--log-level L]
 *
 * Env: DISTRAIN_PORT (or DISTRAIN_LOADER_PORT), DISTRAIN_HOST (or DISTRAIN_LOADER_HOST),
 * DISTRAIN_METRICS_PORT (or DISTRAIN_LOADER_METRICS_PORT), DISTRAIN_MAX_MESSAGE_BYTES, DISTRAIN_LOG_LEVEL.
 */
import { createLoaderMetrics } from '@distrain/core/metrics';
import type { LoaderMetrics } from '@distrain/core/metrics';
import { runService } from '@distrain/core/service';
import { startLoaderServer } from './loader-service.ts';

await runService({
  role: 'data-loader',
  envAliases: {
    port: 'DISTRAIN_LOADER_PORT',
    host: 'DISTRAIN_LOADER_HOST',
    'metrics-port': 'DISTRAIN_LOADER_METRICS_PORT',
  },
  async start({ registry, address, maxMessageBytes, logger, security }) {
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
