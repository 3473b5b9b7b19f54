/**
 * data-loader entry point: wiring only. Reads flags/env once, starts the gRPC server, prints
 * `{"event":"listening","port":N}` on stdout so a parent process can find the port, and shuts down
 * gracefully on SIGTERM/SIGINT.
 *
 *   node --import tsx services/data-loader/src/main.ts [--port N] [--host H] [--max-message-bytes B]
 *        [--metrics-port M]
 *
 * Env: DISTRAIN_LOADER_PORT, DISTRAIN_LOADER_HOST, DISTRAIN_MAX_MESSAGE_BYTES, DISTRAIN_LOG_LEVEL,
 * DISTRAIN_LOADER_METRICS_PORT or DISTRAIN_METRICS_PORT (Prometheus /metrics; 0 = any free port,
 * printed as `metricsPort`; unset = none).
 */
import { parseArgs } from 'node:util';
import { createLogger } from '@distrain/core';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@distrain/core';
import { createLoaderMetrics, createRoleRegistry, startMetricsServer } from '@distrain/core/metrics';
import type { LoaderMetrics } from '@distrain/core/metrics';
import { startLoaderServer } from './loader-service.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'max-message-bytes': { type: 'string' },
    'log-level': { type: 'string' },
    'metrics-port': { type: 'string' },
  },
  strict: true,
});

function intOption(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`data-loader: ${name} must be an integer in ${min}..${max}, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

const port = intOption('--port', values.port ?? process.env.DISTRAIN_LOADER_PORT, 0, 0, 65_535);
const host = values.host ?? process.env.DISTRAIN_LOADER_HOST ?? '127.0.0.1';
const maxMessageBytes = intOption(
  '--max-message-bytes',
  values['max-message-bytes'] ?? process.env.DISTRAIN_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  1024,
  2 ** 31 - 1,
);
const logger = createLogger({
  role: 'data-loader',
  level: values['log-level'] ?? process.env.DISTRAIN_LOG_LEVEL ?? 'info',
});

const metricsPortRaw =
  values['metrics-port'] ?? process.env.DISTRAIN_LOADER_METRICS_PORT ?? process.env.DISTRAIN_METRICS_PORT;
const registry = createRoleRegistry();
// The gauges read the service at scrape time, after `loader` below exists.
const metrics: LoaderMetrics = createLoaderMetrics(registry, {
  streams: () => loader.service.openStreams(),
  queuedBatches: () => loader.service.queuedBatches(),
});
const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
const loader = await startLoaderServer({
  address,
  maxMessageBytes,
  logger,
  onBatch: (b) => metrics.batch(b),
  onRelease: (jobId) => metrics.released(jobId),
});
const metricsServer =
  metricsPortRaw === undefined || metricsPortRaw === ''
    ? undefined
    : await startMetricsServer({
        registry,
        host,
        port: intOption('--metrics-port', metricsPortRaw, 0, 0, 65_535),
      });
process.stdout.write(
  `${JSON.stringify({ event: 'listening', port: loader.server.port, ...(metricsServer ? { metricsPort: metricsServer.port } : {}) })}\n`,
);

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'data-loader shutting down');
  void metricsServer?.close();
  loader.shutdown(5_000).then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'data-loader shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
