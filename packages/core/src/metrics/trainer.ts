import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Buckets (seconds) for a training step and its parts: sub-millisecond waits up to slow CPU steps. */
export const STEP_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** One applied training step, as the trainer measured it. */
export interface TrainerStepSample {
  /** Wall time of the whole step: waiting for data, compute, push-pull and loading the new values. */
  seconds: number;
  /** Waiting for the batch from the data-loader. */
  dataSeconds: number;
  /** Forward, loss and backward. */
  computeSeconds: number;
  /** The push-pull round trip to the parameter server (includes the barrier wait for other ranks). */
  psSeconds: number;
  /**
   * The push-pull's parts and the load of the new values, seconds (absent: not measured). The
   * breakdown `distrain run -v` prints; `transfer` is send plus receive.
   */
  phases?: {
    encodeSeconds: number;
    transferSeconds: number;
    barrierWaitSeconds: number;
    applySeconds: number;
    decodeSeconds: number;
    setParamsSeconds: number;
  };
  samples: number;
  /** Mean loss of the global batch, as the parameter server answered (may be NaN). */
  loss: number;
  /** Parameter version after the step (= global steps applied). */
  globalStep: number;
  /** 1-based epoch the step belongs to. */
  epoch: number;
}

/** What the trainer records; {@link NOOP_TRAINER_METRICS} when metrics are off. */
export interface TrainerMetrics {
  step(sample: TrainerStepSample): void;
}

/** Records nothing. */
export const NOOP_TRAINER_METRICS: TrainerMetrics = Object.freeze({ step: () => undefined });

/**
 * Prometheus metrics of one trainer rank, on an injected registry. Labels `job_id`, `rank`:
 * `distrain_trainer_step_seconds`, `distrain_trainer_data_wait_seconds`,
 * `distrain_trainer_compute_seconds`, `distrain_trainer_ps_wait_seconds` and the push-pull's phases
 * `distrain_trainer_encode_seconds`, `_transfer_seconds`, `_barrier_wait_seconds`,
 * `_server_apply_seconds`, `_decode_seconds`, `_set_params_seconds` (histograms),
 * `distrain_trainer_steps_total`, `distrain_trainer_samples_total` (counters),
 * `distrain_trainer_loss`, `distrain_trainer_global_step`, `distrain_trainer_epoch` (gauges).
 */
export function createTrainerMetrics(
  registry: Registry,
  ids: { jobId: string; rank: number },
): TrainerMetrics {
  const registers = [registry];
  const labelNames = ['job_id', 'rank'] as const;
  const labels = { job_id: ids.jobId, rank: String(ids.rank) };
  const histogram = (name: string, help: string): Histogram<'job_id' | 'rank'> =>
    new Histogram({ name, help, labelNames, buckets: STEP_BUCKETS_SECONDS, registers });
  const stepSeconds = histogram(
    'distrain_trainer_step_seconds',
    'Wall time of one training step (data wait, compute, push-pull, load).',
  );
  const dataWait = histogram(
    'distrain_trainer_data_wait_seconds',
    'Time a step waited for its batch from the data-loader.',
  );
  const compute = histogram(
    'distrain_trainer_compute_seconds',
    'Forward, loss and backward time of one step.',
  );
  const psWait = histogram(
    'distrain_trainer_ps_wait_seconds',
    'Push-pull round trip to the parameter server, barrier wait included.',
  );
  const phase = {
    encodeSeconds: histogram(
      'distrain_trainer_encode_seconds',
      'Cutting and encoding the gradients of one push.',
    ),
    transferSeconds: histogram(
      'distrain_trainer_transfer_seconds',
      'Push-pull round trip minus the time the shard held the push: sending and receiving.',
    ),
    barrierWaitSeconds: histogram(
      'distrain_trainer_barrier_wait_seconds',
      'Time the push waited in the shard for the other ranks of the step.',
    ),
    applySeconds: histogram(
      'distrain_trainer_server_apply_seconds',
      'Time the shard took to aggregate and apply the step (the slowest shard).',
    ),
    decodeSeconds: histogram(
      'distrain_trainer_decode_seconds',
      'Copying the answered parameters into the variables.',
    ),
    setParamsSeconds: histogram(
      'distrain_trainer_set_params_seconds',
      'Loading the new parameters into the model.',
    ),
  };
  const steps = new Counter({
    name: 'distrain_trainer_steps_total',
    help: 'Training steps this rank completed.',
    labelNames,
    registers,
  });
  const samples = new Counter({
    name: 'distrain_trainer_samples_total',
    help: 'Training samples this rank processed.',
    labelNames,
    registers,
  });
  const loss = new Gauge({
    name: 'distrain_trainer_loss',
    help: 'Mean training loss of the last global batch.',
    labelNames,
    registers,
  });
  const globalStep = new Gauge({
    name: 'distrain_trainer_global_step',
    help: 'Parameter version after the last step.',
    labelNames,
    registers,
  });
  const epoch = new Gauge({
    name: 'distrain_trainer_epoch',
    help: 'Epoch (1-based) of the last step.',
    labelNames,
    registers,
  });
  // Series exist from the start, so rate() and the dashboard see zeros rather than nothing.
  steps.inc(labels, 0);
  samples.inc(labels, 0);
  return {
    step(s) {
      stepSeconds.observe(labels, s.seconds);
      dataWait.observe(labels, s.dataSeconds);
      compute.observe(labels, s.computeSeconds);
      psWait.observe(labels, s.psSeconds);
      if (s.phases)
        for (const k of Object.keys(phase) as (keyof typeof phase)[]) phase[k].observe(labels, s.phases[k]);
      steps.inc(labels);
      samples.inc(labels, s.samples);
      loss.set(labels, s.loss);
      globalStep.set(labels, s.globalStep);
      epoch.set(labels, s.epoch);
    },
  };
}
