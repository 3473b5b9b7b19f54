/** Trainer: wiring only (config from env, metrics endpoint, run, exit code). */
import {
  BackendError,
  EXIT_CONFIG,
  createLogger,
  createRoleRegistry,
  createTrainerMetrics,
  readWorkerConfig,
  startMetricsServer,
} from '@distrain/core';
import { runTrainer } from './trainer.ts';

const config = readWorkerConfig(process.env);
const logger = createLogger({
  role: 'trainer',
  level: process.env['DISTRAIN_LOG_LEVEL'] ?? 'info',
  bindings: { jobId: config.jobId, rank: config.rank },
});
process.once('SIGTERM', () => process.exit(143));
try {
  const registry = createRoleRegistry();
  const metrics = createTrainerMetrics(registry, { jobId: config.jobId, rank: config.rank });
  // The coordinator says where to serve /metrics (port 0: any free port, reported in heartbeats).
  const server = config.metrics
    ? await startMetricsServer({ registry, host: config.metrics.host, port: config.metrics.port })
    : undefined;
  if (server) logger.info({ metricsPort: server.port }, 'serving /metrics');
  await runTrainer(config, logger, { metrics, ...(server ? { metricsPort: server.port } : {}) });
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'trainer failed');
  // A backend that cannot load fails the same way on every restart: say so with the exit code.
  process.exit(err instanceof BackendError ? EXIT_CONFIG : 1);
}
