/** Evaluator: wiring only (config from env, run, exit code). */
import { createLogger, readWorkerConfig } from '@distrain/core';
import { runEvaluator } from './evaluator.ts';

const config = readWorkerConfig(process.env);
const logger = createLogger({ role: 'evaluator', level: process.env['DISTRAIN_LOG_LEVEL'] ?? 'info', bindings: { jobId: config.jobId } });
process.once('SIGTERM', () => process.exit(143));
try {
  await runEvaluator(config, logger);
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'evaluator failed');
  process.exit(1);
}
