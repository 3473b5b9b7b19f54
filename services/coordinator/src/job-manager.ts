import { JobStates, StateError, checkId, checkText, isTerminal } from '@distrain/core';
import { NOOP_COORDINATOR_METRICS } from '@distrain/core/metrics';
import type {
  DatasetInfo,
  EvaluationResult,
  HeartbeatRequest__Output,
  Job,
  JobEvent,
  JobBudget,
  JobStateLabel,
  JobStateName,
  Logger,
  ParamMap,
  TrainingJob,
} from '@distrain/core';
import type { DataPlaneKind } from '@distrain/core/ps';
import type { CoordinatorMetrics } from '@distrain/core/metrics';
import type { EventBus } from './event-bus.ts';
import { admitJob } from './jobs/admission.ts';
import { textExportFiles } from './text-job.ts';
import { JobBook } from './jobs/book.ts';
import { JobLifecycle } from './jobs/lifecycle.ts';
import { ProgressTracker } from './jobs/progress.ts';
import { countByState, listJobs, predictionsOf, scrapeTargets, toWire } from './jobs/read-model.ts';
import type { ScrapeTargetGroup } from './jobs/read-model.ts';
import { fromStored, isStoredJobV1 } from './jobs/record.ts';
import type { JobRecord } from './jobs/record.ts';
import { restoreJobs } from './jobs/restore.ts';
import type { JobResults } from './jobs/results.ts';
import { WorkerSupervisor } from './jobs/supervisor.ts';
import type { WorkerSecurity } from './jobs/supervisor.ts';
import type { WorkerLimits } from './jobs/supervisor.ts';
import { ShardWatch } from './jobs/shard-watch.ts';
import type { Launcher } from './launcher.ts';
import { systemClock } from './ports.ts';
import type { Clock, DatasetCatalog, JobRecordStore, ParameterServerAdmin } from './ports.ts';

// The job-state vocabulary lives in @distrain/core; re-exported for code that imported it from here.
export { JobStates, isTerminal } from '@distrain/core';
export type { JobStateName } from '@distrain/core';
export type { ScrapeTargetGroup } from './jobs/read-model.ts';
export type { JobRecordStore } from './ports.ts';

/** Options of {@link JobManager}: its ports (built by the composition root) and settings. */
export interface JobManagerOptions {
  launcher: Launcher;
  /** The data-loader's datasets (DescribeDataset, ReleaseJob). */
  catalog: DatasetCatalog;
  /** The parameter-server shards (InitJob, Pull, EndJob). */
  parameterServers: ParameterServerAdmin;
  events: EventBus;
  logger: Logger;
  /** host:port of the data-loader (what workers are told). */
  loaderAddress: string;
  /** host:port of each parameter-server shard. */
  psAddresses: string[];
  /** host:port workers use to reach this coordinator's WorkerService (known once the server is bound). */
  coordinatorAddress: () => string;
  /** Now and timers. @default the system clock */
  clock?: Clock;
  /** Most jobs not yet ended. @default 16 */
  maxActiveJobs?: number;
  /** Resource budgets of one job, checked at submit. @default DEFAULT_JOB_BUDGET */
  budget?: Readonly<JobBudget>;
  /** How often liveness is checked. @default 1000 */
  monitorIntervalMs?: number;
  /** How often running jobs' parameter-server shards are checked (restart, disagreement). @default 1000 */
  psWatchIntervalMs?: number;
  /** Keeps job records beyond this process (NATS KV). @default none: records live in memory only */
  store?: JobRecordStore;
  /**
   * Durable final artifacts (parameters, predictions, text vocabulary) of ended jobs: NATS Object
   * Store or files. @default none: they stay in memory while the job does
   */
  results?: JobResults;
  /** Most ended jobs kept in memory; older ones are answered from the store. @default 100 */
  maxEndedJobs?: number;
  /** Coordinator metrics. @default no-op */
  metrics?: CoordinatorMetrics;
  /** Where launched workers serve `/metrics` (port 0: any free port). @default none: no worker metrics */
  workerMetrics?: { host: string; port: number };
  /** Transport of the workers' PushPull and Pull (`WorkerConfig.dataPlane`). @default the workers' default (zmq) */
  dataPlane?: DataPlaneKind;
  /** What workers authenticate with: their job's credential, and TLS (`WorkerConfig.token`, `.tls`). @default none */
  workerSecurity?: WorkerSecurity;
  /** How long workers wait for an unreachable coordinator and data-loader. @default the workers' (15 s, 60 s) */
  workerLimits?: WorkerLimits;
  /**
   * On close, leave running jobs running (their records stay in the store and the next coordinator
   * re-adopts them) instead of cancelling them. For launchers whose workers outlive the coordinator
   * (Kubernetes pods). @default false
   */
  keepJobsOnClose?: boolean;
}

/**
 * The coordinator's job state machine, as one facade over its parts (`jobs/`): admission, the
 * lifecycle (start, teardown), the worker supervisor (launch, restart, straggler timeout), the
 * progress tracker (heartbeats, evaluations), the read models, and restore after a restart. The
 * gRPC service (`job-service.ts`) calls only this class.
 */
export class JobManager {
  private readonly book: JobBook;
  private readonly lifecycle: JobLifecycle;
  private readonly supervisor: WorkerSupervisor;
  private readonly progress: ProgressTracker;
  /** Restores restarted parameter-server shards of running jobs. */
  readonly shardWatch: ShardWatch;
  /** {@link close} was called: nothing restarts the shard watch. */
  private closed = false;

  constructor(private readonly options: JobManagerOptions) {
    this.book = new JobBook({
      events: options.events,
      logger: options.logger,
      metrics: options.metrics ?? NOOP_COORDINATOR_METRICS,
      clock: options.clock ?? systemClock,
      ...(options.store ? { store: options.store } : {}),
      ...(options.results ? { results: options.results } : {}),
      ...(options.maxEndedJobs === undefined ? {} : { maxEndedJobs: options.maxEndedJobs }),
    });
    this.lifecycle = new JobLifecycle({
      book: this.book,
      launcher: options.launcher,
      catalog: options.catalog,
      parameterServers: options.parameterServers,
      psAddresses: options.psAddresses,
    });
    this.supervisor = new WorkerSupervisor({
      book: this.book,
      launcher: options.launcher,
      ends: this.lifecycle,
      loaderAddress: options.loaderAddress,
      coordinatorAddress: options.coordinatorAddress,
      ...(options.workerMetrics ? { workerMetrics: options.workerMetrics } : {}),
      ...(options.dataPlane ? { dataPlane: options.dataPlane } : {}),
      ...(options.workerSecurity ? { workerSecurity: options.workerSecurity } : {}),
      ...(options.workerLimits ? { workerLimits: options.workerLimits } : {}),
      ...(options.monitorIntervalMs === undefined ? {} : { monitorIntervalMs: options.monitorIntervalMs }),
    });
    this.progress = new ProgressTracker(this.book, this.lifecycle);
    this.book.onEvict.push((id) => this.progress.forget(id));
    this.shardWatch = new ShardWatch(
      this.book,
      this.lifecycle,
      options.psWatchIntervalMs === undefined ? {} : { intervalMs: options.psWatchIntervalMs },
    );
    this.shardWatch.start();
  }

  /** Validates a TrainingJob document, checks it against its dataset, and starts it. */
  async submit(doc: unknown): Promise<Job> {
    const record = await admitJob(doc, {
      catalog: this.options.catalog,
      jobs: this.book.jobs.values(),
      maxActiveJobs: this.options.maxActiveJobs ?? 16,
      ...(this.options.budget ? { budget: this.options.budget } : {}),
      nowMs: this.book.clock.now(),
    });
    this.book.admit(record);
    // A text job's vocabulary is kept durably at once: a coordinator that re-adopts the job after a
    // restart reads it back (predictions' text column, export's vocab.json).
    if (record.text !== undefined && this.options.results) {
      const text = record.text;
      this.options.results
        .save(record.id, { text })
        .catch((err: unknown) =>
          this.book.log(record, 'warn', `could not store the text vocabulary: ${(err as Error).message}`),
        );
    }
    if (record.text !== undefined) {
      this.book.log(
        record,
        'info',
        `text dataset: ${record.dataset?.trainCount ?? 0} train / ${record.dataset?.testCount ?? 0} test samples, vocabulary ${record.text.vocabulary.length}; ${record.text.statsJson}`,
      );
    }
    void this.lifecycle
      .start(record)
      .then((running) => (running ? this.supervisor.launchAll(record) : undefined))
      .catch((err: unknown) => this.lifecycle.fail(record, `could not start: ${(err as Error).message}`));
    return toWire(record);
  }

  /**
   * A worker's heartbeat: liveness, progress, and its done/failed status. `peerHost` is the address
   * the heartbeat came from (where the worker's `/metrics` is scraped).
   */
  heartbeat(req: HeartbeatRequest__Output, peerHost = ''): { stop: boolean; reason: string } {
    return this.progress.heartbeat(req, peerHost);
  }

  /** One epoch's evaluation from the evaluator. */
  reportEvaluation(jobId: string, result: EvaluationResult, predictionsCsv: Buffer): void {
    this.progress.reportEvaluation(jobId, result, predictionsCsv);
  }

  /** Cancels a job; a no-op on an ended job. */
  async cancel(id: string, reason: string): Promise<Job> {
    checkText('reason', reason, 1024);
    const record = await this.find(id);
    await this.lifecycle.cancel(record, reason);
    return toWire(record);
  }

  /** Forwards one worker log line to the job's log events (warnings and errors only). */
  workerLog(jobId: string, source: string, line: string): void {
    this.progress.workerLog(jobId, source, line);
  }

  /**
   * A notice about a service this coordinator depends on (the local stack restarted the data-loader
   * or a parameter-server shard): a `log` event in every job that is not over.
   */
  serviceNotice(level: string, message: string): void {
    for (const record of this.book.jobs.values()) {
      if (!isTerminal(record.state)) this.book.log(record, level, message);
    }
  }

  /** Records the backend a trainer reported. */
  setBackend(jobId: string, backend: string): void {
    this.progress.setBackend(jobId, backend);
  }

  /** The job's record, or a NotFoundError. */
  get(id: string): JobRecord {
    checkId('id', id, true);
    return this.book.get(id);
  }

  /**
   * The job's record: from memory, or (an ended job evicted from memory) a read-only view of its
   * stored record; a NotFoundError when neither has it (without a store: evicted jobs are gone).
   */
  async find(id: string): Promise<JobRecord> {
    const live = this.book.jobs.get(id);
    if (live) return live;
    const doc = await this.options.store?.loadJob?.(id);
    if (isStoredJobV1(doc) && doc.id === id && isTerminal(doc.state))
      return this.book.jobs.get(id) ?? fromStored(doc, this.book.clock.now(), { describe: false });
    return this.book.get(id);
  }

  /** Jobs, newest first, optionally in one state (those in memory). */
  list(state?: JobStateName): Job[] {
    return listJobs(this.book.jobs.values(), state);
  }

  /** Jobs, newest first, optionally in one state: those in memory and those only in the store. */
  async listAll(state?: JobStateName): Promise<Job[]> {
    const records = [...this.book.jobs.values()];
    const loadJobs = this.options.store?.loadJobs?.bind(this.options.store);
    if (loadJobs) {
      const now = this.book.clock.now();
      // A job may leave memory while the store is read: it is listed once, as it was in memory.
      const listed = new Set(records.map((r) => r.id));
      for (const doc of await loadJobs()) {
        if (isStoredJobV1(doc) && isTerminal(doc.state) && !listed.has(doc.id) && !this.book.jobs.has(doc.id))
          records.push(fromStored(doc, now, { describe: false }));
      }
    }
    return listJobs(records, state);
  }

  /**
   * The kept events of a job that is no longer in memory (read from the store's event stream);
   * a NotFoundError when the job is unknown.
   */
  async storedHistory(id: string): Promise<JobEvent[]> {
    await this.find(id);
    return (await this.options.store?.loadJobEvents?.(id)) ?? [];
  }

  /** The job as the wire `Job`. */
  toWire(record: JobRecord): Job {
    return toWire(record);
  }

  /** Predictions CSV of the newest evaluated epoch (of an ended job: from durable storage). */
  async predictions(id: string): Promise<Buffer> {
    const record = await this.find(id);
    await record.teardown;
    if (record.predictionsCsv || !isTerminal(record.state) || !this.options.results)
      return predictionsOf(record);
    const kept = await this.options.results.load(id);
    return predictionsOf({
      ...record,
      ...(kept.predictionsCsv ? { predictionsCsv: kept.predictionsCsv } : {}),
      ...(kept.text ? { text: kept.text } : {}),
    });
  }

  /** What an export needs: the job, its dataset and the final (or current) parameters. */
  async exportInputs(id: string): Promise<{
    job: TrainingJob;
    dataset: DatasetInfo;
    params: ParamMap;
    /** Files besides model.json and weights.bin (text jobs: vocab.json, embeddings.glove.txt). */
    extraFiles: { name: string; data: Buffer }[];
  }> {
    const record = await this.find(id);
    // Just after the end an export waits for the teardown that keeps the final parameters.
    await record.teardown;
    let params = record.finalParams;
    let text = record.text;
    if (!params && record.ps && !isTerminal(record.state)) params = (await record.ps.pull()).params;
    if (!params && isTerminal(record.state) && this.options.results) {
      const kept = await this.options.results.load(id);
      params = kept.params;
      text ??= kept.text;
    }
    if (!params || !record.dataset) {
      throw new StateError(
        `job ${id} has no parameters to export (state ${record.state}); wait until it has trained`,
      );
    }
    const extraFiles = text === undefined ? [] : textExportFiles(record.job, params, text);
    return { job: record.job, dataset: record.dataset, params, extraFiles };
  }

  /** Jobs by state (the `distrain_coordinator_jobs` gauge). */
  countByState(): Record<JobStateLabel, number> {
    return countByState(this.book.jobs.values());
  }

  /** The running jobs' worker `/metrics` endpoints (served at `/sd/workers`). */
  scrapeTargets(): ScrapeTargetGroup[] {
    return scrapeTargets(this.book.jobs.values());
  }

  /**
   * Takes over the jobs a previous coordinator left in the store (once, before serving); see
   * `jobs/restore.ts`. The shard watch pauses meanwhile: it sends InitJob{resume} for every Running
   * job it sees, which on a shard that no longer holds the job creates it again, so a tick between a
   * stored Running job's arrival in memory and restore's check of its shards would bring back, from
   * step 0, a job that must fail.
   */
  async restore(stored: readonly unknown[]): Promise<void> {
    const relaunch =
      this.options.launcher.workersOutliveCoordinator === false
        ? (record: JobRecord) => this.supervisor.relaunchUnfinished(record)
        : undefined;
    this.shardWatch.close();
    try {
      await restoreJobs(stored, this.book, this.options.parameterServers, this.lifecycle, relaunch);
    } finally {
      if (!this.closed) this.shardWatch.start();
    }
  }

  /**
   * Coordinator shutdown: cancels every job still active, or, with `keepJobsOnClose`, saves them as
   * they are for the next coordinator.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.supervisor.close();
    this.shardWatch.close();
    if (this.options.keepJobsOnClose && this.options.store) {
      for (const r of this.book.jobs.values()) {
        r.abort.abort();
        this.book.save(r);
      }
    } else {
      await Promise.all(
        [...this.book.jobs.values()].map((r) =>
          isTerminal(r.state)
            ? undefined
            : this.lifecycle.end(r, JobStates.cancelled, 'coordinator shut down'),
        ),
      );
    }
  }
}
