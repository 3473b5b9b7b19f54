import { loadedModelDoor } from '../model-door.ts';
import type {
  DatasetInfo,
  EvaluationResult,
  JobProgress,
  JobStateName,
  ParamMap,
  TrainingJob,
  VariableInfo,
} from '@distrain/core';
import type { WorkerHandle } from '../launcher.ts';
import type { JobParameters } from '../ports.ts';
import type { TextArtifacts } from '../text-job.ts';

/** One trainer or evaluator of a job, across its restarts. */
export interface WorkerSlot {
  role: 'trainer' | 'evaluator';
  rank: number;
  handle?: WorkerHandle;
  restarts: number;
  lastSeenMs: number;
  status: 'starting' | 'running' | 'done' | 'failed';
  progress?: JobProgress;
  /** Where the worker serves `/metrics` (from its heartbeats; port 0: not yet known or off). */
  metricsHost?: string;
  metricsPort?: number;
}

/** A job as the coordinator holds it in memory. */
export interface JobRecord {
  id: string;
  job: TrainingJob;
  state: JobStateName;
  reason: string;
  createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  dataset?: DatasetInfo;
  variables?: VariableInfo[];
  stepsPerEpoch: number;
  backend: string;
  progress: JobProgress;
  epochs: EvaluationResult[];
  predictionsCsv?: Buffer;
  /** When the first trainer was ready to train, and when each epoch's last step was applied. */
  trainStartMs: number;
  epochEndMs: number[];
  finalParams?: ParamMap;
  /** The end's teardown (the terminal state is published first, the final parameters kept after). */
  teardown?: Promise<void>;
  /** The teardown has finished (the job may leave memory). */
  teardownDone?: boolean;
  workers: Map<string, WorkerSlot>;
  ps?: JobParameters;
  /** Parameter-server shards serving this job (the spec's count, at most the shards running). */
  psShards: string[];
  /** Ends the job's waits (launch backoff) when it stops. */
  abort: AbortController;
  /**
   * Text datasets: vocabulary, test texts and corpus statistics (never sent to workers; kept in the
   * durable results store at submission, where a coordinator that re-adopts the job reads them).
   */
  text?: TextArtifacts;
  /** Pretrained initial values for InitJob (dropped once the shards are initialised). */
  initialValues?: ParamMap;
}

/** What the learning-rate schedule's defaults depend on. */
export function scheduleContext(record: JobRecord): { stepsPerEpoch: number; totalSteps: number } {
  return { stepsPerEpoch: record.stepsPerEpoch, totalSteps: record.stepsPerEpoch * record.job.spec.epochs };
}

/** A job record as stored (JSON), version 1. Parameters and predictions are not stored. */
export interface StoredJobV1 {
  storeVersion: 1;
  id: string;
  job: TrainingJob;
  state: JobStateName;
  reason: string;
  createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  dataset?: DatasetInfo;
  stepsPerEpoch: number;
  backend: string;
  progress: JobProgress;
  epochs: EvaluationResult[];
  trainStartMs: number;
  epochEndMs: number[];
  psShards: string[];
  workers: { role: 'trainer' | 'evaluator'; rank: number; restarts: number; status: WorkerSlot['status'] }[];
}

/** The worker's key in {@link JobRecord.workers}. */
export function slotKey(role: string, rank: number): string {
  return `${role}-${rank}`;
}

/** How logs name a worker: `trainer rank 2`, `evaluator`. */
export function slotName(slot: Pick<WorkerSlot, 'role' | 'rank'>): string {
  return slot.role === 'trainer' ? `trainer rank ${slot.rank}` : 'evaluator';
}

/** A fresh slot (before its first launch). */
export function newSlot(role: WorkerSlot['role'], rank: number, nowMs: number): WorkerSlot {
  return { role, rank, restarts: 0, lastSeenMs: nowMs, status: 'starting' };
}

/** A stored record is readable when it has version 1, an id and a job. */
export function isStoredJobV1(doc: unknown): doc is StoredJobV1 {
  const s = doc as Partial<StoredJobV1> | null;
  return !!s && s.storeVersion === 1 && typeof s.id === 'string' && !!s.job;
}

/** The record as stored. */
export function toStored(record: JobRecord): StoredJobV1 {
  return {
    storeVersion: 1,
    id: record.id,
    job: record.job,
    state: record.state,
    reason: record.reason,
    createdAtMs: record.createdAtMs,
    startedAtMs: record.startedAtMs,
    finishedAtMs: record.finishedAtMs,
    ...(record.dataset ? { dataset: record.dataset } : {}),
    stepsPerEpoch: record.stepsPerEpoch,
    backend: record.backend,
    progress: record.progress,
    epochs: record.epochs,
    trainStartMs: record.trainStartMs,
    epochEndMs: record.epochEndMs,
    psShards: record.psShards,
    workers: [...record.workers.values()].map((w) => ({
      role: w.role,
      rank: w.rank,
      restarts: w.restarts,
      status: w.status,
    })),
  };
}

/**
 * A stored record back in memory (no parameter-server client yet; its workers last seen now).
 * `describe: false` skips the model description (its variables): a read-only view of an ended job.
 */
export function fromStored(s: StoredJobV1, nowMs: number, options: { describe?: boolean } = {}): JobRecord {
  const workers = new Map<string, WorkerSlot>();
  for (const w of s.workers)
    workers.set(slotKey(w.role, w.rank), {
      role: w.role,
      rank: w.rank,
      restarts: w.restarts,
      status: w.status,
      lastSeenMs: nowMs,
    });
  return {
    id: s.id,
    job: s.job,
    state: s.state,
    reason: s.reason,
    createdAtMs: s.createdAtMs,
    startedAtMs: s.startedAtMs,
    finishedAtMs: s.finishedAtMs,
    ...(s.dataset && options.describe === false ? { dataset: s.dataset } : {}),
    ...(s.dataset && options.describe !== false
      ? {
          dataset: s.dataset,
          variables: loadedModelDoor().describeModel(s.job.spec.model.layers, s.dataset.featureShape)
            .variables,
        }
      : {}),
    stepsPerEpoch: s.stepsPerEpoch,
    backend: s.backend,
    progress: { ...s.progress, loss: Number(s.progress.loss ?? Number.NaN) },
    epochs: s.epochs,
    trainStartMs: s.trainStartMs,
    epochEndMs: s.epochEndMs,
    psShards: s.psShards,
    workers,
    abort: new AbortController(),
  };
}
