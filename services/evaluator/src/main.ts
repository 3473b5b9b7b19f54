/** Evaluator: wiring only (the shared worker bootstrap: config from env, metrics endpoint, run, exit code). */
import { createEvaluatorMetrics } from '@distrain/core/metrics';
import { runWorker } from '@distrain/core/service';
import { runEvaluator } from './evaluator.ts';

await runWorker({
  role: 'evaluator',
  metrics: (registry, config) => createEvaluatorMetrics(registry, { jobId: config.jobId }),
  run: ({ config, logger, metrics, metricsPort }) =>
    runEvaluator(config, logger, { metrics, ...(metricsPort === undefined ? {} : { metricsPort }) }),
});
