import type { DatasetInfo, JobEvent, ParamMap, TrainingJob, VariableInfo } from '@distrain/core';
import type { PsInitOptions, PsShardInit } from '@distrain/core/ps';
import type { TextArtifacts } from './text-job.ts';

/**
 * The ports of the coordinator's job parts: what they need from the outside world, injected by the
 * composition root (`wiring.ts`, `main.ts`) and faked in unit tests. The launcher is `launcher.ts`.
 */

/** The datasets the data-loader serves (its DescribeDataset and ReleaseJob). */
export interface DatasetCatalog {
  /**
   * The dataset's shape and counts (and, for a text dataset, its vocabulary, test texts and corpus
   * statistics); rejects when the loader cannot serve it (the message says why).
   */
  describe(dataset: TrainingJob['spec']['dataset']): Promise<DescribedDataset>;
  /** Frees the loader's per-job state (best effort). */
  releaseJob(jobId: string): Promise<void>;
}

/** A dataset as the catalog describes it: its info, plus the text artifacts of a text dataset. */
export type DescribedDataset = DatasetInfo & { text?: TextArtifacts };

/** One job's state on its parameter-server shards. */
export interface JobParameters {
  /** InitJob on every shard. */
  init(options: PsInitOptions): Promise<void>;
  /**
   * InitJob on every shard, each shard's answer (with `resume`: a restarted shard restores its
   * checkpoint; with `rollbackTo`: every shard is brought to that version). The shard watch's call.
   */
  ensure(options: PsInitOptions): Promise<PsShardInit[]>;
  /** The current parameters and the version every shard is at. */
  pull(): Promise<{ params: ParamMap; version: number }>;
  /** EndJob on every shard (frees the job's state). */
  endJob(): Promise<void>;
  /** Closes the job's connections. */
  close(): void;
}

/** Administration of the parameter-server shards. */
export interface ParameterServerAdmin {
  /** The job's state on the given shards (nothing is called until a method is). */
  forJob(job: { jobId: string; shardAddresses: string[]; variables: VariableInfo[] }): JobParameters;
}

/**
 * Where job records are kept beyond this process (NATS JetStream KV); the last write wins. The
 * readers let the coordinator answer for jobs it no longer holds in memory (evicted ended jobs).
 */
export interface JobRecordStore {
  saveJob(id: string, record: unknown): void;
  /** One stored record, or undefined. */
  loadJob?(id: string): Promise<unknown>;
  /** Every stored record. */
  loadJobs?(): Promise<unknown[]>;
  /** The kept events of one job, in order. */
  loadJobEvents?(id: string): Promise<JobEvent[]>;
}

/** Cancels a timer of a {@link Clock}. */
export type CancelTimer = () => void;

/** Time: now and timers (a fake clock in unit tests runs timeouts at once). */
export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms`; the timer never keeps the process alive on its own. */
  setTimeout(fn: () => void, ms: number): CancelTimer;
  /** Runs `fn` every `ms`; the timer never keeps the process alive on its own. */
  setInterval(fn: () => void, ms: number): CancelTimer;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

/** Keeps job records in this process (tests, and a store to inspect what would be saved). */
export class MemoryJobRecordStore implements JobRecordStore {
  readonly records = new Map<string, unknown>();
  /** Every save, in order. */
  saves = 0;

  saveJob(id: string, record: unknown): void {
    // A deep copy, as a real store serializes: later changes to the live record do not leak in.
    this.records.set(id, JSON.parse(JSON.stringify(record)) as unknown);
    this.saves++;
  }

  /** The records, as `NatsJobStore.loadJobs` returns them. */
  loadJobs(): Promise<unknown[]> {
    return Promise.resolve([...this.records.values()]);
  }

  loadJob(id: string): Promise<unknown> {
    return Promise.resolve(this.records.get(id));
  }
}
