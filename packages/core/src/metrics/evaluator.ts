import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** One evaluated epoch. */
export interface EvaluatorEpochSample {
  epoch: number;
  /** Fraction 0..1. */
  testAccuracy: number;
  testLoss: number;
  samples: number;
  evalSeconds: number;
}

/** What the evaluator records; {@link NOOP_EVALUATOR_METRICS} when metrics are off. */
export interface EvaluatorMetrics {
  epoch(sample: EvaluatorEpochSample): void;
}

/** Records nothing. */
export const NOOP_EVALUATOR_METRICS: EvaluatorMetrics = Object.freeze({ epoch: () => undefined });

/**
 * Prometheus metrics of a job's evaluator, on an injected registry:
 * `distrain_evaluator_test_accuracy` and `distrain_evaluator_test_loss` (gauges, labels `job_id`,
 * `epoch`: one series per evaluated epoch, few per job), `distrain_evaluator_epoch` (last evaluated
 * epoch), `distrain_evaluator_test_accuracy_change` (last epoch's accuracy minus the previous one's:
 * the "accuracy falling between epochs" alert reads it), `distrain_evaluator_eval_seconds`
 * (histogram) and `distrain_evaluator_samples_total` (labels `job_id`).
 */
export function createEvaluatorMetrics(registry: Registry, ids: { jobId: string }): EvaluatorMetrics {
  const registers = [registry];
  const job = { job_id: ids.jobId };
  const accuracy = new Gauge({
    name: 'distrain_evaluator_test_accuracy',
    help: 'Test-set accuracy (0..1) of an epoch.',
    labelNames: ['job_id', 'epoch'] as const,
    registers,
  });
  const loss = new Gauge({
    name: 'distrain_evaluator_test_loss',
    help: 'Mean test-set loss of an epoch.',
    labelNames: ['job_id', 'epoch'] as const,
    registers,
  });
  const lastEpoch = new Gauge({
    name: 'distrain_evaluator_epoch',
    help: 'Last evaluated epoch.',
    labelNames: ['job_id'] as const,
    registers,
  });
  const change = new Gauge({
    name: 'distrain_evaluator_test_accuracy_change',
    help: 'Test accuracy of the last evaluated epoch minus that of the epoch before (0 after the first).',
    labelNames: ['job_id'] as const,
    registers,
  });
  const seconds = new Histogram({
    name: 'distrain_evaluator_eval_seconds',
    help: 'Time to evaluate one epoch on the test split.',
    labelNames: ['job_id'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const samples = new Counter({
    name: 'distrain_evaluator_samples_total',
    help: 'Test samples evaluated.',
    labelNames: ['job_id'] as const,
    registers,
  });
  samples.inc(job, 0);
  lastEpoch.set(job, 0);
  let previous: number | undefined;
  return {
    epoch(s) {
      const labels = { job_id: ids.jobId, epoch: String(s.epoch) };
      accuracy.set(labels, s.testAccuracy);
      loss.set(labels, s.testLoss);
      lastEpoch.set(job, s.epoch);
      change.set(job, previous === undefined ? 0 : s.testAccuracy - previous);
      previous = s.testAccuracy;
      seconds.observe(job, s.evalSeconds);
      samples.inc(job, s.samples);
    },
  };
}
