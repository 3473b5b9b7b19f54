/** Trainer: wiring only (the shared worker bootstrap: config from env, metrics endpoint, run, exit code). */
import { EXIT_CONFIG } from '@distrain/core';
import { createTrainerMetrics } from '@distrain/core/metrics';
import { BackendError } from '@distrain/core/model';
import { runWorker, tuneHeapForDataPlane } from '@distrain/core/service';
import { DivergedError, runTrainer } from './trainer.ts';

// Received ZeroMQ frames are external memory freed by GC: a larger heap growing factor keeps them
// from starting a Mark-Compact every ~14 steps (heap-tuning.ts).
tuneHeapForDataPlane();
await runWorker({
  role: 'trainer',
  metrics: (registry, config) => createTrainerMetrics(registry, { jobId: config.jobId, rank: config.rank }),
  run: ({ config, logger, metrics, metricsPort }) =>
    runTrainer(config, logger, { metrics, ...(metricsPort === undefined ? {} : { metricsPort }) }),
  // A backend that cannot load, or a diverged loss, fails the same way on every restart: say so with
  // the exit code.
  exitCode: (err) => (err instanceof BackendError || err instanceof DivergedError ? EXIT_CONFIG : undefined),
});
