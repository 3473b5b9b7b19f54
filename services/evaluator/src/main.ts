/** Evaluator: wiring only (config from env, metrics endpoint, run, exit code). */
import { createLogger, readWorkerConfig } from '@distrain/core';
import { createEvaluatorMetrics, createRoleRegistry, startMetricsServer } from '@distrain/core/metrics';
import { runEvaluator } from './evaluator.ts';

const config = readWorkerConfig(process.env);
const logger = createLogger({
  role: 'evaluator',
  level: process.env['DISTRAIN_LOG_LEVEL'] ?? 'info',
  bindings: { jobId: config.jobId },
});
process.once('SIGTERM', () => process.exit(143));
try {
  const registry = createRoleRegistry();
  const metrics = createEvaluatorMetrics(registry, { jobId: config.jobId });
  // The coordinator says where to serve /metrics (port 0: any free port, reported in heartbeats).
  const server = config.metrics
    ? await startMetricsServer({ registry, host: config.metrics.host, port: config.metrics.port })
    : undefined;
  if (server) logger.info({ metricsPort: server.port }, 'serving /metrics');
  await runEvaluator(config, logger, { metrics, ...(server ? { metricsPort: server.port } : {}) });
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'evaluator failed');
  process.exit(1);
}
