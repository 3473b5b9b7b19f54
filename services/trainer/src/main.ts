/** Trainer: wiring only (config from env, run, exit code). */
import { createLogger, readWorkerConfig } from '@distrain/core';
import { runTrainer } from './trainer.ts';

const config = readWorkerConfig(process.env);
const logger = createLogger({ role: 'trainer', level: process.env['DISTRAIN_LOG_LEVEL'] ?? 'info', bindings: { jobId: config.jobId, rank: config.rank } });
process.once('SIGTERM', () => process.exit(143));
try {
  await runTrainer(config, logger);
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'trainer failed');
  process.exit(1);
}
