/** Trainer: wiring only (the shared worker bootstrap: config from env, metrics endpoint, run, exit code). */
import { createTrainerMetrics } from '@distrain/core/metrics';
import { runWorker } from '@distrain/core/service';
import { runTrainer } from './trainer.ts';

await runWorker({
  role: 'trainer',
  metrics: (registry, config) => createTrainerMetrics(registry, { jobId: config.jobId, rank: config.rank }),
  run: ({ config, logger, metrics, metricsPort }) =>
    runTrainer(config, logger, { metrics, ...(metricsPort === undefined ? {} : { metricsPort }) }),
});
