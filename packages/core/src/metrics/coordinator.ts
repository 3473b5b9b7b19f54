import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** Worker roles the coordinator launches. */
export type WorkerRole = 'trainer' | 'evaluator';

/** What the coordinator records; {@link NOOP_COORDINATOR_METRICS} when metrics are off. */
export interface CoordinatorMetrics {
  /** A job started running, or was re-adopted at `globalStep` (its restart counters begin at zero). */
  jobStarted(jobId: string, roles: readonly WorkerRole[], globalStep: number): void;
  /** A worker was launched (first start or restart). */
  launched(role: WorkerRole): void;
  /** A worker is being restarted after a failure. */
  restarted(jobId: string, role: WorkerRole): void;
  /** The job's global step advanced. */
  progress(jobId: string, globalStep: number, loss: number): void;
  /** A worker heartbeat arrived. */
  heartbeat(role: WorkerRole): void;
  /** A job event was published (`state`, `step`, `epoch`, `log`). */
  event(type: string): void;
  /** Publishing an event or saving a job record to NATS failed. */
  natsError(operation: 'publish' | 'store'): void;
  /** The job ended: drop the series only meaningful while it runs. */
  jobEnded(jobId: string): void;
}

/** Records nothing. */
export const NOOP_COORDINATOR_METRICS: CoordinatorMetrics = Object.freeze({
  jobStarted: () => undefined,
  launched: () => undefined,
  restarted: () => undefined,
  progress: () => undefined,
  heartbeat: () => undefined,
  event: () => undefined,
  natsError: () => undefined,
  jobEnded: () => undefined,
});

/** Job states as metric label values (`state` label of `distrain_coordinator_jobs`). */
export const JOB_STATE_LABELS = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;

/**
 * Prometheus metrics of the coordinator, on an injected registry:
 * `distrain_coordinator_jobs` (gauge, label `state`, read at scrape time),
 * `distrain_coordinator_launches_total` (label `role`),
 * `distrain_coordinator_worker_restarts_total` (labels `job_id`, `role`),
 * `distrain_coordinator_job_global_step`, `distrain_coordinator_job_loss` and
 * `distrain_coordinator_job_last_step_timestamp_seconds` (labels `job_id`, running jobs only: the
 * "no step for 5 minutes" alert reads the last), `distrain_coordinator_heartbeats_total` (label
 * `role`), `distrain_coordinator_events_total` (label `type`) and
 * `distrain_coordinator_nats_errors_total` (label `operation`).
 */
export function createCoordinatorMetrics(
  registry: Registry,
  jobsByState: () => Record<(typeof JOB_STATE_LABELS)[number], number>,
): CoordinatorMetrics {
  const registers = [registry];
  new Gauge({
    name: 'distrain_coordinator_jobs',
    help: 'Jobs known to the coordinator, by state.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts = jobsByState();
      for (const state of JOB_STATE_LABELS) this.set({ state }, counts[state]);
    },
  });
  const launches = new Counter({
    name: 'distrain_coordinator_launches_total',
    help: 'Workers launched (first starts and restarts).',
    labelNames: ['role'] as const,
    registers,
  });
  const restarts = new Counter({
    name: 'distrain_coordinator_worker_restarts_total',
    help: 'Workers restarted after a failure or a heartbeat timeout.',
    labelNames: ['job_id', 'role'] as const,
    registers,
  });
  const step = new Gauge({
    name: 'distrain_coordinator_job_global_step',
    help: 'Global step of a running job.',
    labelNames: ['job_id'] as const,
    registers,
  });
  const loss = new Gauge({
    name: 'distrain_coordinator_job_loss',
    help: 'Mean training loss of a running job, last reported.',
    labelNames: ['job_id'] as const,
    registers,
  });
  const lastStep = new Gauge({
    name: 'distrain_coordinator_job_last_step_timestamp_seconds',
    help: 'Unix time a running job last advanced its global step (its start time before the first step).',
    labelNames: ['job_id'] as const,
    registers,
  });
  const heartbeats = new Counter({
    name: 'distrain_coordinator_heartbeats_total',
    help: 'Worker heartbeats received.',
    labelNames: ['role'] as const,
    registers,
  });
  const events = new Counter({
    name: 'distrain_coordinator_events_total',
    help: 'Job events published.',
    labelNames: ['type'] as const,
    registers,
  });
  const natsErrors = new Counter({
    name: 'distrain_coordinator_nats_errors_total',
    help: 'Failed NATS publishes and job-record writes.',
    labelNames: ['operation'] as const,
    registers,
  });
  for (const role of ['trainer', 'evaluator']) {
    launches.inc({ role }, 0);
    heartbeats.inc({ role }, 0);
  }
  for (const type of ['state', 'step', 'epoch', 'log']) events.inc({ type }, 0);
  for (const operation of ['publish', 'store']) natsErrors.inc({ operation }, 0);
  const steps = new Map<string, number>();
  return {
    jobStarted(jobId, roles, globalStep) {
      for (const role of roles) restarts.inc({ job_id: jobId, role }, 0);
      steps.set(jobId, globalStep);
      step.set({ job_id: jobId }, globalStep);
      lastStep.set({ job_id: jobId }, Date.now() / 1000);
    },
    launched: (role) => launches.inc({ role }),
    restarted: (jobId, role) => restarts.inc({ job_id: jobId, role }),
    progress(jobId, globalStep, l) {
      if (globalStep > (steps.get(jobId) ?? -1)) {
        steps.set(jobId, globalStep);
        step.set({ job_id: jobId }, globalStep);
        lastStep.set({ job_id: jobId }, Date.now() / 1000);
      }
      loss.set({ job_id: jobId }, l);
    },
    heartbeat: (role) => heartbeats.inc({ role }),
    event: (type) => events.inc({ type }),
    natsError: (operation) => natsErrors.inc({ operation }),
    jobEnded(jobId) {
      steps.delete(jobId);
      for (const g of [step, loss, lastStep]) g.remove({ job_id: jobId });
    },
  };
}
