import { JobStates, StateError, jobStateLabel } from '@distrain/core';
import type { Job, JobStateLabel, JobStateName } from '@distrain/core';
import type { JobRecord } from './record.ts';
import { withTextColumn } from '../text-job.ts';

/** A Prometheus HTTP service-discovery target group (`http_sd_configs`). */
export interface ScrapeTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** The job as the wire `Job`. */
export function toWire(record: JobRecord): Job {
  return {
    id: record.id,
    name: record.job.metadata.name,
    state: record.state,
    reason: record.reason,
    specJson: JSON.stringify(record.job),
    createdAtMs: record.createdAtMs,
    startedAtMs: record.startedAtMs,
    finishedAtMs: record.finishedAtMs,
    trainers: record.job.spec.trainers.replicas,
    backend: record.backend,
    progress: record.progress,
    epochs: record.epochs,
    trainSeconds:
      record.epochEndMs.length > 0 ? ((record.epochEndMs.at(-1) as number) - record.trainStartMs) / 1000 : 0,
    trainSamples: record.epochEndMs.length * (record.dataset?.trainCount ?? 0),
  };
}

/** Jobs, newest first, optionally in one state. */
export function listJobs(records: Iterable<JobRecord>, state?: JobStateName): Job[] {
  return [...records]
    .filter((r) => state === undefined || r.state === state)
    .sort((a, b) => b.createdAtMs - a.createdAtMs)
    .map(toWire);
}

/** Jobs by state (the `distrain_coordinator_jobs` gauge). */
export function countByState(records: Iterable<JobRecord>): Record<JobStateLabel, number> {
  const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const r of records) counts[jobStateLabel(r.state)]++;
  return counts;
}

/** Predictions CSV of the newest evaluated epoch. */
export function predictionsOf(record: JobRecord): Buffer {
  if (!record.predictionsCsv) {
    throw new StateError(
      record.epochs.length > 0
        ? `job ${record.id}'s predictions were not kept across a coordinator restart`
        : `job ${record.id} has no evaluated epoch yet; wait for the first epoch to end`,
    );
  }
  // Text jobs: a `text` column with the first characters of each test text.
  return record.text === undefined
    ? record.predictionsCsv
    : withTextColumn(record.predictionsCsv, record.text.testTexts);
}

/**
 * The `/metrics` endpoints of the running jobs' workers, as Prometheus HTTP service discovery
 * target groups. Labels are `__meta_` only: the workers' series already carry `job_id` and `rank`.
 */
export function scrapeTargets(records: Iterable<JobRecord>): ScrapeTargetGroup[] {
  const groups: ScrapeTargetGroup[] = [];
  for (const record of records) {
    if (record.state !== JobStates.running) continue;
    for (const slot of record.workers.values()) {
      if (!slot.metricsPort || slot.status === 'done' || slot.status === 'failed') continue;
      const host = slot.metricsHost || '127.0.0.1';
      groups.push({
        targets: [`${host.includes(':') ? `[${host}]` : host}:${slot.metricsPort}`],
        labels: {
          __meta_distrain_job_id: record.id,
          __meta_distrain_role: slot.role,
          __meta_distrain_rank: String(slot.rank),
        },
      });
    }
  }
  return groups;
}
