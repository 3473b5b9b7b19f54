import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/** Hooks the parameter-server service calls; every method optional to implement as a no-op. */
export interface PsObserver {
  /** A step was aggregated and applied: wall time of the aggregation, bytes received and sent for it. */
  onAggregate(jobId: string, seconds: number, bytesIn: number, bytesOut: number): void;
  /** The job's parameter version changed (a step was applied, a job was initialized or resumed). */
  onVersion(jobId: string, version: number): void;
  /**
   * A step was applied with this learning rate; `gradNorm` is the global norm of the mean gradient
   * before clipping (NaN when clipping is off), `clipped` whether it was scaled down.
   */
  onStep?(jobId: string, learningRate: number, gradNorm: number, clipped: boolean): void;
  /** A request was refused; `reason` is a short low-cardinality word (`invalid`, `not_found`, ...). */
  onRejected(reason: string): void;
  /** A push was answered, `seconds` after it arrived (barrier wait and aggregation included). */
  onPushAnswered?(jobId: string, seconds: number): void;
  /** A job's state was freed; drop its series. */
  onJobEnded(jobId: string): void;
}

/** An observer that records nothing. */
export const NOOP_PS_OBSERVER: PsObserver = Object.freeze({
  onAggregate: () => undefined,
  onVersion: () => undefined,
  onRejected: () => undefined,
  onJobEnded: () => undefined,
});

/**
 * Prometheus metrics of one parameter-server shard, declared on an injected registry:
 * `distrain_ps_aggregate_seconds`, `distrain_ps_push_seconds` (histograms), `distrain_ps_version` (gauge),
 * `distrain_ps_received_bytes_total`, `distrain_ps_sent_bytes_total`, `distrain_ps_steps_total`
 * `distrain_ps_learning_rate`, `distrain_ps_gradient_norm` (gauges: the last update's rate and, with
 * clipping, its global gradient norm), `distrain_ps_clipped_steps_total`
 * (labels `job_id`, `shard`) and `distrain_ps_rejected_total` (labels `reason`, `shard`).
 */
export function createPsMetrics(registry: Registry, shard: number): PsObserver {
  const registers = [registry];
  const labelNames = ['job_id', 'shard'] as const;
  const aggregate = new Histogram({
    name: 'distrain_ps_aggregate_seconds',
    help: 'Time to sum, scale and apply one step on one shard.',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const pushSeconds = new Histogram({
    name: 'distrain_ps_push_seconds',
    help: 'Time a push spent in the shard, from arrival to answer (barrier wait and aggregation included).',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const version = new Gauge({
    name: 'distrain_ps_version',
    help: 'Parameter version (applied steps).',
    labelNames,
    registers,
  });
  const steps = new Counter({
    name: 'distrain_ps_steps_total',
    help: 'Steps applied.',
    labelNames,
    registers,
  });
  const bytesIn = new Counter({
    name: 'distrain_ps_received_bytes_total',
    help: 'Gradient and state bytes received in pushes.',
    labelNames,
    registers,
  });
  const bytesOut = new Counter({
    name: 'distrain_ps_sent_bytes_total',
    help: 'Parameter bytes sent in push responses.',
    labelNames,
    registers,
  });
  const rejected = new Counter({
    name: 'distrain_ps_rejected_total',
    help: 'Requests refused, by reason.',
    labelNames: ['reason', 'shard'] as const,
    registers,
  });
  const learningRate = new Gauge({
    name: 'distrain_ps_learning_rate',
    help: 'Learning rate of the last applied update (schedule and warmup included).',
    labelNames,
    registers,
  });
  const gradNorm = new Gauge({
    name: 'distrain_ps_gradient_norm',
    help: 'Global L2 norm of the last mean gradient before clipping (set when clipping is on).',
    labelNames,
    registers,
  });
  const clippedSteps = new Counter({
    name: 'distrain_ps_clipped_steps_total',
    help: 'Updates whose mean gradient was scaled down to optimizer.clipNorm.',
    labelNames,
    registers,
  });
  const s = String(shard);
  return {
    onAggregate(jobId, seconds, inBytes, outBytes) {
      const labels = { job_id: jobId, shard: s };
      aggregate.observe(labels, seconds);
      steps.inc(labels);
      bytesIn.inc(labels, inBytes);
      bytesOut.inc(labels, outBytes);
    },
    onVersion(jobId, v) {
      version.set({ job_id: jobId, shard: s }, v);
    },
    onPushAnswered(jobId, seconds) {
      pushSeconds.observe({ job_id: jobId, shard: s }, seconds);
    },
    onStep(jobId, lr, norm, clipped) {
      const labels = { job_id: jobId, shard: s };
      learningRate.set(labels, lr);
      if (Number.isFinite(norm)) gradNorm.set(labels, norm);
      if (clipped) clippedSteps.inc(labels);
    },
    onRejected(reason) {
      rejected.inc({ reason, shard: s });
    },
    onJobEnded(jobId) {
      const labels = { job_id: jobId, shard: s };
      for (const m of [
        aggregate,
        pushSeconds,
        version,
        steps,
        bytesIn,
        bytesOut,
        learningRate,
        gradNorm,
        clippedSteps,
      ])
        m.remove(labels);
    },
  };
}
