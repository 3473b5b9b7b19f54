import { randomBytes } from 'node:crypto';
import {
  NOOP_COORDINATOR_METRICS,
  NotFoundError,
  OverloadError,
  ParameterClient,
  StateError,
  ValidationError,
  checkOutputMatchesClasses,
  dataLoaderClient,
  datasetSpecToWire,
  describeModel,
  stepsPerEpoch,
  unary,
  validateJob,
} from '@distrain/core';
import type {
  CoordinatorMetrics,
  DataLoaderServiceClient,
  DatasetInfo,
  DescribeDatasetResponse__Output,
  EvaluationResult,
  HeartbeatRequest__Output,
  Job,
  JobProgress,
  Logger,
  ParamMap,
  TrainingJob,
  VariableInfo,
  WorkerConfig,
} from '@distrain/core';
import type { EventBus } from './event-bus.ts';
import type { Launcher, WorkerHandle } from './launcher.ts';
import { bindTextDataset, pretrainedValues, textExportFiles, withTextColumn } from './text-job.ts';
import type { TextArtifacts } from './text-job.ts';

/** Job states, as on the wire. */
export const JobStates = {
  pending: 'JOB_STATE_PENDING',
  running: 'JOB_STATE_RUNNING',
  succeeded: 'JOB_STATE_SUCCEEDED',
  failed: 'JOB_STATE_FAILED',
  cancelled: 'JOB_STATE_CANCELLED',
} as const;
export type JobStateName = (typeof JobStates)[keyof typeof JobStates];

const TERMINAL = new Set<JobStateName>([JobStates.succeeded, JobStates.failed, JobStates.cancelled]);

/** True for Succeeded, Failed and Cancelled. */
export function isTerminal(state: JobStateName): boolean {
  return TERMINAL.has(state);
}

interface WorkerSlot {
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

/** Where job records are kept beyond this process (NATS JetStream KV); the last write wins. */
export interface JobRecordStore {
  saveJob(id: string, record: unknown): void;
}

/** A job record as stored (JSON), version 1. Parameters and predictions are not stored. */
interface StoredJobV1 {
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

/** A Prometheus HTTP service-discovery target group (`http_sd_configs`). */
export interface ScrapeTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

interface JobRecord {
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
  workers: Map<string, WorkerSlot>;
  ps?: ParameterClient;
  /** Parameter-server shards serving this job (the spec's count, at most the shards running). */
  psShards: string[];
  /** Ends the job's waits (launch backoff) when it stops. */
  abort: AbortController;
  /** Text datasets: vocabulary, test texts and corpus statistics (kept here, not sent to workers). */
  text?: TextArtifacts;
}

/** Options of {@link JobManager}. */
export interface JobManagerOptions {
  launcher: Launcher;
  events: EventBus;
  logger: Logger;
  /** host:port of the data-loader. */
  loaderAddress: string;
  /** host:port of each parameter-server shard. */
  psAddresses: string[];
  /** host:port workers use to reach this coordinator's WorkerService (known once the server is bound). */
  coordinatorAddress: () => string;
  /** Most jobs not yet ended. @default 16 */
  maxActiveJobs?: number;
  /** How often liveness is checked. @default 1000 */
  monitorIntervalMs?: number;
  /** Deadline of calls to the data-loader and parameter servers. @default 30000 */
  rpcTimeoutMs?: number;
  /** Keeps job records beyond this process (NATS KV). @default none: records live in memory only */
  store?: JobRecordStore;
  /** Coordinator metrics. @default no-op */
  metrics?: CoordinatorMetrics;
  /** Where launched workers serve `/metrics` (port 0: any free port). @default none: no worker metrics */
  workerMetrics?: { host: string; port: number };
  /**
   * On close, leave running jobs running (their records stay in the store and the next coordinator
   * re-adopts them) instead of cancelling them. For launchers whose workers outlive the coordinator
   * (Kubernetes pods). @default false
   */
  keepJobsOnClose?: boolean;
}

/** How often a running job's record is saved while only its progress changes. */
const PROGRESS_SAVE_INTERVAL_MS = 2_000;

/**
 * The job state machine: validates and starts jobs, launches trainers and the evaluator, follows their
 * heartbeats, restarts failed workers up to the spec's limit, and owns teardown so that every service
 * frees the job's state whatever way it ends.
 */
export class JobManager {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly loader: DataLoaderServiceClient;
  private readonly monitor: NodeJS.Timeout;
  private readonly rpcTimeoutMs: number;
  private readonly metrics: CoordinatorMetrics;
  private readonly saveTimers = new Map<string, NodeJS.Timeout>();
  /** Pretrained initial values of jobs not yet initialized on the parameter server. */
  private readonly pretrained = new Map<string, ParamMap>();

  constructor(private readonly options: JobManagerOptions) {
    this.metrics = options.metrics ?? NOOP_COORDINATOR_METRICS;
    this.loader = dataLoaderClient(options.loaderAddress);
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 30_000;
    this.monitor = setInterval(() => this.checkLiveness(), options.monitorIntervalMs ?? 1_000);
    this.monitor.unref();
  }

  /** Validates a TrainingJob document, checks it against its dataset, and starts it. */
  async submit(doc: unknown): Promise<Job> {
    let job = validateJob(doc);
    const active = [...this.jobs.values()].filter((j) => !isTerminal(j.state)).length;
    if (active >= (this.options.maxActiveJobs ?? 16)) {
      throw new OverloadError(`${active} jobs are active (the limit); wait for one to end or cancel one`);
    }
    const { dataset, text } = await this.describeDataset(job);
    job = bindTextDataset(job, dataset);
    const inputShape = dataset.featureShape;
    checkOutputMatchesClasses(job.spec.model.layers, inputShape, dataset.numClasses, job.spec.loss);
    if (job.spec.batchSize > dataset.trainCount) {
      throw new ValidationError(
        'spec.batchSize',
        `is ${job.spec.batchSize} but the dataset has only ${dataset.trainCount} training samples; use at most ${dataset.trainCount}`,
      );
    }
    const { variables } = describeModel(job.spec.model.layers, inputShape);
    const id = `${job.metadata.name}-${randomBytes(3).toString('hex')}`;
    const spe = stepsPerEpoch(dataset.trainCount, job.spec.batchSize);
    const record: JobRecord = {
      id,
      job,
      state: JobStates.pending,
      reason: '',
      createdAtMs: Date.now(),
      startedAtMs: 0,
      finishedAtMs: 0,
      dataset,
      variables,
      stepsPerEpoch: spe,
      backend: job.spec.trainers.backend,
      progress: {
        epoch: 0,
        stepInEpoch: 0,
        stepsPerEpoch: spe,
        globalStep: 0,
        totalSteps: spe * job.spec.epochs,
      },
      epochs: [],
      trainStartMs: 0,
      psShards: [],
      epochEndMs: [],
      workers: new Map(),
      abort: new AbortController(),
      ...(text === undefined ? {} : { text }),
    };
    if (text !== undefined) {
      // Fails the submit (naming the field) on a missing file or a dimension mismatch.
      this.pretrained.set(id, pretrainedValues(job, variables, text.vocabulary).values);
    }
    this.jobs.set(id, record);
    this.setState(record, JobStates.pending, '');
    if (text !== undefined) {
      this.log(
        record,
        'info',
        `text dataset: ${dataset.trainCount} train / ${dataset.testCount} test samples, vocabulary ${text.vocabulary.length}; ${text.statsJson}`,
      );
    }
    void this.start(record).catch((err: unknown) =>
      this.fail(record, `could not start: ${(err as Error).message}`),
    );
    return this.toWire(record);
  }

  private async describeDataset(job: TrainingJob): Promise<{ dataset: DatasetInfo; text?: TextArtifacts }> {
    const d = job.spec.dataset;
    let res: DescribeDatasetResponse__Output;
    try {
      res = await unary(
        this.loader,
        this.loader.describeDataset,
        {
          dataset: datasetSpecToWire(d),
          includeText: true,
        },
        { timeoutMs: this.rpcTimeoutMs, retries: 3 },
      );
    } catch (err) {
      const e = err as { details?: string; message: string };
      throw new ValidationError('spec.dataset', e.details ?? e.message, { cause: err });
    }
    const text = res.featureDtype === 'DTYPE_INT32';
    const dataset: DatasetInfo = {
      datasetId: res.datasetId,
      trainCount: res.trainCount,
      testCount: res.testCount,
      featureShape: res.featureShape,
      featureDtype: res.featureDtype === 'DTYPE_UINT8' ? 'uint8' : text ? 'int32' : 'float32',
      featureScale: res.featureScale,
      numClasses: res.numClasses,
      classNames: res.classNames,
      ...(text ? { vocabularySize: res.vocabularySize } : {}),
    };
    if (!text) return { dataset };
    return {
      dataset,
      text: { vocabulary: res.vocabulary, testTexts: res.testTexts, statsJson: res.textStatsJson },
    };
  }

  private async start(record: JobRecord): Promise<void> {
    const { job } = record;
    record.psShards = this.options.psAddresses.slice(
      0,
      Math.max(1, Math.min(job.spec.parameterServer.shards, this.options.psAddresses.length)),
    );
    const ps = new ParameterClient({
      jobId: record.id,
      shardAddresses: record.psShards,
      variables: record.variables ?? [],
      timeoutMs: this.rpcTimeoutMs,
    });
    record.ps = ps;
    await ps.init({
      seed: job.spec.seed,
      optimizer: job.spec.optimizer,
      worldSize: job.spec.trainers.replicas,
      stepsPerEpoch: record.stepsPerEpoch,
      initialValues: this.pretrained.get(record.id) ?? new Map(),
      ...(job.spec.checkpoint.dir === undefined
        ? {}
        : { checkpointDir: `${job.spec.checkpoint.dir}/${record.id}` }),
    });
    this.pretrained.delete(record.id);
    if (isTerminal(record.state)) return;
    record.startedAtMs = Date.now();
    const now = Date.now();
    for (let rank = 0; rank < job.spec.trainers.replicas; rank++) {
      record.workers.set(`trainer-${rank}`, {
        role: 'trainer',
        rank,
        restarts: 0,
        lastSeenMs: now,
        status: 'starting',
      });
    }
    if (job.spec.evaluation.enabled) {
      record.workers.set('evaluator-0', {
        role: 'evaluator',
        rank: 0,
        restarts: 0,
        lastSeenMs: now,
        status: 'starting',
      });
    }
    this.setState(record, JobStates.running, '');
    this.metrics.jobStarted(record.id, [...new Set([...record.workers.values()].map((w) => w.role))], 0);
    await Promise.all([...record.workers.values()].map((slot) => this.launch(record, slot)));
  }

  private workerConfig(record: JobRecord, slot: WorkerSlot): WorkerConfig {
    return {
      jobId: record.id,
      role: slot.role,
      rank: slot.rank,
      worldSize: record.job.spec.trainers.replicas,
      coordinator: this.options.coordinatorAddress(),
      loader: this.options.loaderAddress,
      psShards: record.psShards,
      job: record.job,
      dataset: record.dataset as DatasetInfo,
      stepsPerEpoch: record.stepsPerEpoch,
      ...(this.options.workerMetrics ? { metrics: this.options.workerMetrics } : {}),
    };
  }

  private async launch(record: JobRecord, slot: WorkerSlot): Promise<void> {
    if (isTerminal(record.state)) return;
    slot.status = 'starting';
    slot.lastSeenMs = Date.now();
    const handle = await this.options.launcher.launch(this.workerConfig(record, slot), slot.restarts);
    slot.handle = handle;
    this.metrics.launched(slot.role);
    void handle.exited.then((exit) => {
      if (slot.handle !== handle || isTerminal(record.state)) return;
      // A worker stopped for silence ('failed') failed, whatever its exit code says.
      if (exit.code === 0 && slot.status !== 'failed') {
        slot.status = 'done';
        return this.maybeFinish(record);
      }
      this.workerFailed(record, slot, slot.status === 'failed' ? 'heartbeat timeout' : exit.reason);
      return undefined;
    });
  }

  private workerFailed(record: JobRecord, slot: WorkerSlot, reason: string): void {
    // Detach the handle first: its exit and a liveness stop may both report this one failure.
    slot.handle = undefined;
    const name = `${slot.role} ${slot.role === 'trainer' ? `rank ${slot.rank} ` : ''}`;
    const limit = record.job.spec.fault.maxRestarts;
    if (slot.role === 'trainer' && record.job.spec.fault.onTrainerFailure === 'fail') {
      this.fail(record, `${name}failed and spec.fault.onTrainerFailure is "fail": ${reason}`);
      return;
    }
    if (slot.restarts >= limit) {
      this.fail(record, `${name}failed ${slot.restarts + 1} times (restart limit ${limit}): ${reason}`);
      return;
    }
    slot.restarts++;
    slot.status = 'failed';
    slot.metricsPort = 0;
    this.metrics.restarted(record.id, slot.role);
    this.save(record);
    this.log(record, 'warn', `${name}failed (${reason}); restart ${slot.restarts} of ${limit}`);
    const backoffMs = Math.min(500 * 2 ** (slot.restarts - 1), 10_000);
    const timer = setTimeout(() => {
      void this.launch(record, slot).catch((err: unknown) =>
        this.fail(record, `relaunch failed: ${(err as Error).message}`),
      );
    }, backoffMs);
    record.abort.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  /**
   * A worker's heartbeat: liveness, progress, and its done/failed status. `peerHost` is the address
   * the heartbeat came from (where the worker's `/metrics` is scraped).
   */
  heartbeat(req: HeartbeatRequest__Output, peerHost = ''): { stop: boolean; reason: string } {
    const record = this.get(req.jobId);
    if (isTerminal(record.state)) return { stop: true, reason: `job ${record.state}` };
    const slot = record.workers.get(`${req.role}-${req.rank}`);
    if (!slot) throw new ValidationError('rank', `no ${req.role} ${req.rank} in job ${req.jobId}`);
    slot.lastSeenMs = Date.now();
    this.metrics.heartbeat(slot.role);
    if (req.metricsPort > 0) {
      slot.metricsPort = req.metricsPort;
      slot.metricsHost = peerHost;
    }
    if (req.progress) slot.progress = req.progress;
    if (req.status === 'failed') {
      this.log(record, 'error', `${req.role} ${req.rank}: ${req.message}`);
    } else if (req.status === 'done') {
      slot.status = 'done';
      void this.maybeFinish(record);
    } else {
      slot.status = 'running';
    }
    if (req.role === 'trainer' && req.progress && req.status !== 'failed')
      this.updateProgress(record, slot.rank, req.progress);
    return { stop: false, reason: '' };
  }

  private lastStepEventMs = new Map<string, number>();

  private updateProgress(record: JobRecord, rank: number, p: JobProgress): void {
    let samplesPerSecond = 0;
    for (const w of record.workers.values()) {
      if (w.role === 'trainer' && w.status !== 'done')
        samplesPerSecond += Number(w.progress?.samplesPerSecond ?? 0);
    }
    const globalStep = Number(p.globalStep ?? 0);
    const now = Date.now();
    if (record.trainStartMs === 0) record.trainStartMs = now;
    for (let e = record.epochEndMs.length + 1; e * record.stepsPerEpoch <= globalStep; e++)
      record.epochEndMs.push(now);
    if (globalStep >= Number(record.progress.globalStep ?? 0)) {
      record.progress = {
        ...p,
        samplesPerSecond,
        totalSteps: record.progress.totalSteps,
        stepsPerEpoch: record.stepsPerEpoch,
      };
      this.metrics.progress(record.id, globalStep, Number(p.loss ?? 0));
      this.saveSoon(record);
    }
    // A trainer's beats before its first step carry no progress: nothing to tell watchers yet.
    if (globalStep === 0) return;
    const key = `${record.id}/${rank}`;
    if (now - (this.lastStepEventMs.get(key) ?? 0) >= 250) {
      this.lastStepEventMs.set(key, now);
      this.options.events.publish(record.id, { event: 'step', step: { rank, progress: p } });
    }
  }

  /** One epoch's evaluation from the evaluator. */
  reportEvaluation(jobId: string, result: EvaluationResult, predictionsCsv: Buffer): void {
    const record = this.get(jobId);
    if (record.epochs.some((e) => e.epoch === result.epoch)) return; // a retried report
    const trainers = [...record.workers.values()].filter((w) => w.role === 'trainer');
    const e = Number(result.epoch);
    const end = record.epochEndMs[e - 1] ?? Date.now();
    const begin = e === 1 ? record.trainStartMs || record.startedAtMs : (record.epochEndMs[e - 2] ?? end);
    const full: EvaluationResult = { ...result, trainSeconds: Math.max(0, (end - begin) / 1000) };
    record.epochs.push(full);
    record.epochs.sort((a, b) => Number(a.epoch) - Number(b.epoch));
    if (predictionsCsv.length > 0) record.predictionsCsv = predictionsCsv;
    this.options.events.publish(jobId, { event: 'epoch', epoch: full });
    this.save(record);
    this.options.logger.info(
      { jobId, epoch: result.epoch, testAccuracy: result.testAccuracy, trainers: trainers.length },
      'epoch evaluated',
    );
  }

  private async maybeFinish(record: JobRecord): Promise<void> {
    if (isTerminal(record.state)) return;
    const all = [...record.workers.values()];
    if (all.length === 0 || !all.every((w) => w.status === 'done')) return;
    if (record.job.spec.evaluation.enabled && record.epochs.length < record.job.spec.epochs) return;
    await this.end(record, JobStates.succeeded, '');
  }

  /** Cancels a job; a no-op on an ended job. */
  async cancel(id: string, reason: string): Promise<Job> {
    const record = this.get(id);
    if (!isTerminal(record.state)) await this.end(record, JobStates.cancelled, reason || 'cancelled by user');
    return this.toWire(record);
  }

  private fail(record: JobRecord, reason: string): void {
    if (isTerminal(record.state)) return;
    this.options.logger.error({ jobId: record.id, reason }, 'job failed');
    void this.end(record, JobStates.failed, reason);
  }

  /**
   * Teardown, whatever the end: stop workers, keep the final parameters for export, free the job's
   * state on the parameter servers and the data-loader.
   */
  private async end(record: JobRecord, state: JobStateName, reason: string): Promise<void> {
    if (isTerminal(record.state)) return;
    record.finishedAtMs = Date.now();
    record.abort.abort();
    this.setState(record, state, reason);
    this.metrics.jobEnded(record.id);
    await this.options.launcher
      .stopJob(record.id)
      .catch((err: unknown) => this.log(record, 'warn', `stopping workers: ${(err as Error).message}`));
    if (record.ps) {
      try {
        record.finalParams = (await record.ps.pull({})).params;
      } catch (err) {
        this.log(record, 'warn', `could not keep the final parameters: ${(err as Error).message}`);
      }
      await record.ps
        .endJob()
        .catch((err: unknown) =>
          this.log(record, 'warn', `freeing parameter-server state: ${(err as Error).message}`),
        );
      record.ps.close();
    }
    await unary(this.loader, this.loader.releaseJob, { jobId: record.id }, { timeoutMs: 5_000 }).catch(
      () => undefined,
    );
  }

  private checkLiveness(): void {
    const now = Date.now();
    for (const record of this.jobs.values()) {
      if (record.state !== JobStates.running) continue;
      const timeout = record.job.spec.fault.stragglerTimeoutMs;
      for (const slot of record.workers.values()) {
        if (slot.status === 'done' || slot.status === 'failed') continue;
        // A worker still starting gets extra time: process start plus backend and dataset loading.
        const allowed = slot.status === 'starting' ? timeout + 60_000 : timeout;
        if (now - slot.lastSeenMs > allowed) {
          const name = slot.role === 'trainer' ? `trainer rank ${slot.rank}` : 'evaluator';
          slot.status = 'failed';
          const handle = slot.handle;
          this.log(
            record,
            'warn',
            `${name} sent no heartbeat for ${Math.round((now - slot.lastSeenMs) / 1000)} s`,
          );
          // A re-adopted worker (coordinator restart) has no handle: relaunch it straight away.
          void (handle ? handle.stop() : Promise.resolve()).then(() => {
            if (slot.handle === handle && !isTerminal(record.state))
              this.workerFailed(record, slot, 'heartbeat timeout');
          });
        }
      }
    }
  }

  private setState(record: JobRecord, state: JobStateName, reason: string): void {
    record.state = state;
    record.reason = reason;
    this.save(record);
    this.options.events.publish(record.id, { event: 'state', state: { state, reason } });
    this.options.logger.info({ jobId: record.id, state, reason }, 'job state');
  }

  private log(record: JobRecord, level: string, message: string): void {
    this.options.events.publish(record.id, { event: 'log', log: { level, source: 'coordinator', message } });
    this.options.logger.info({ jobId: record.id, level, msg2: message }, 'job log');
  }

  /** Forwards one worker log line to the job's log events (warnings and errors only). */
  workerLog(jobId: string, source: string, line: string): void {
    const record = this.jobs.get(jobId);
    if (!record) return;
    let level = 'info';
    let message = line;
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      level = (parsed.level ?? 30) >= 50 ? 'error' : (parsed.level ?? 30) >= 40 ? 'warn' : 'info';
      message = parsed.err?.message ? `${parsed.msg ?? ''}: ${parsed.err.message}` : (parsed.msg ?? line);
    } catch {
      level = /error/i.test(line) ? 'error' : 'info';
    }
    if (level !== 'info')
      this.options.events.publish(jobId, { event: 'log', log: { level, source, message } });
  }

  get(id: string): JobRecord {
    const record = this.jobs.get(id);
    if (!record)
      throw new NotFoundError(`job ${JSON.stringify(id)} not found; list jobs with \`distrain list\``, {
        jobId: id,
      });
    return record;
  }

  /** Jobs, newest first, optionally in one state. */
  list(state?: JobStateName): Job[] {
    return [...this.jobs.values()]
      .filter((r) => state === undefined || r.state === state)
      .sort((a, b) => b.createdAtMs - a.createdAtMs)
      .map((r) => this.toWire(r));
  }

  /** The job as the wire `Job`. */
  toWire(record: JobRecord): Job {
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
        record.epochEndMs.length > 0
          ? ((record.epochEndMs.at(-1) as number) - record.trainStartMs) / 1000
          : 0,
      trainSamples: record.epochEndMs.length * (record.dataset?.trainCount ?? 0),
    };
  }

  /** Predictions CSV of the newest evaluated epoch. */
  predictions(id: string): Buffer {
    const record = this.get(id);
    if (!record.predictionsCsv) {
      throw new StateError(
        record.epochs.length > 0
          ? `job ${id}'s predictions were not kept across a coordinator restart`
          : `job ${id} has no evaluated epoch yet; wait for the first epoch to end`,
      );
    }
    return record.text === undefined
      ? record.predictionsCsv
      : withTextColumn(record.predictionsCsv, record.text.testTexts);
  }

  /** What an export needs: the job, its dataset and the final (or current) parameters. */
  async exportInputs(id: string): Promise<{
    job: TrainingJob;
    dataset: DatasetInfo;
    params: ParamMap;
    extraFiles: { name: string; data: Buffer }[];
  }> {
    const record = this.get(id);
    let params = record.finalParams;
    if (!params && record.ps && !isTerminal(record.state)) params = (await record.ps.pull({})).params;
    if (!params || !record.dataset) {
      throw new StateError(
        `job ${id} has no parameters to export (state ${record.state}); wait until it has trained`,
      );
    }
    const extraFiles = record.text === undefined ? [] : textExportFiles(record.job, params, record.text);
    return { job: record.job, dataset: record.dataset, params, extraFiles };
  }

  /** Records the backend a trainer reported. */
  setBackend(jobId: string, backend: string): void {
    const record = this.jobs.get(jobId);
    if (record) record.backend = backend;
  }

  /** Jobs by state (the `distrain_coordinator_jobs` gauge). */
  countByState(): Record<'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled', number> {
    const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const r of this.jobs.values())
      counts[r.state.replace('JOB_STATE_', '').toLowerCase() as keyof typeof counts]++;
    return counts;
  }

  /**
   * The `/metrics` endpoints of the running jobs' workers, as Prometheus HTTP service discovery
   * target groups (served on the coordinator's metrics port at `/sd/workers`). Labels are `__meta_`
   * only: the workers' series already carry `job_id` and `rank`.
   */
  scrapeTargets(): ScrapeTargetGroup[] {
    const groups: ScrapeTargetGroup[] = [];
    for (const record of this.jobs.values()) {
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

  /**
   * Takes over the jobs a previous coordinator left in the store (called once, before serving).
   * Ended jobs come back as they were (their parameters and predictions are not stored). A job that
   * was still Pending cannot be resumed and fails with the reason. A Running job is re-adopted when
   * its parameter servers still hold its state: its workers keep heartbeating here (same address),
   * and any that stay silent past the straggler timeout are relaunched from the parameter server's
   * version; otherwise it fails with the reason. Nothing is left at Running without an owner.
   */
  async restore(stored: readonly unknown[]): Promise<void> {
    for (const doc of stored) {
      const s = doc as Partial<StoredJobV1>;
      if (s.storeVersion !== 1 || typeof s.id !== 'string' || !s.job || this.jobs.has(s.id)) {
        this.options.logger.warn(
          { id: s.id, storeVersion: s.storeVersion },
          'skipping an unreadable stored job record',
        );
        continue;
      }
      const record = this.fromStored(s as StoredJobV1);
      this.jobs.set(record.id, record);
      if (isTerminal(record.state)) continue;
      await this.adopt(record);
    }
  }

  private async adopt(record: JobRecord): Promise<void> {
    if (record.psShards.length > 0 && record.variables) {
      record.ps = new ParameterClient({
        jobId: record.id,
        shardAddresses: record.psShards,
        variables: record.variables,
        timeoutMs: this.rpcTimeoutMs,
      });
    }
    if (record.state === JobStates.pending) {
      this.fail(record, 'the coordinator restarted while the job was starting; submit it again');
      return;
    }
    let version: number;
    try {
      if (!record.ps) throw new Error('no parameter-server shards recorded');
      ({ version } = await record.ps.pull({}));
    } catch (err) {
      const e = err as { details?: string; message: string };
      this.fail(
        record,
        `the coordinator restarted and the parameter servers no longer hold the job's state (${e.details ?? e.message})`,
      );
      return;
    }
    const now = Date.now();
    for (const slot of record.workers.values()) {
      if (slot.status !== 'done') slot.status = 'running';
      slot.lastSeenMs = now;
    }
    this.metrics.jobStarted(
      record.id,
      [...new Set([...record.workers.values()].map((w) => w.role))],
      version,
    );
    this.log(
      record,
      'warn',
      `the coordinator restarted; re-adopted the job at step ${version}: workers that do not heartbeat within ${record.job.spec.fault.stragglerTimeoutMs} ms are relaunched`,
    );
    this.save(record);
    await this.maybeFinish(record);
  }

  private toStored(record: JobRecord): StoredJobV1 {
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

  private fromStored(s: StoredJobV1): JobRecord {
    const workers = new Map<string, WorkerSlot>();
    for (const w of s.workers)
      workers.set(`${w.role}-${w.rank}`, {
        role: w.role,
        rank: w.rank,
        restarts: w.restarts,
        status: w.status,
        lastSeenMs: Date.now(),
      });
    return {
      id: s.id,
      job: s.job,
      state: s.state,
      reason: s.reason,
      createdAtMs: s.createdAtMs,
      startedAtMs: s.startedAtMs,
      finishedAtMs: s.finishedAtMs,
      ...(s.dataset
        ? {
            dataset: s.dataset,
            variables: describeModel(s.job.spec.model.layers, s.dataset.featureShape).variables,
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

  /** Saves the job's record to the store now. */
  private save(record: JobRecord): void {
    const store = this.options.store;
    if (!store) return;
    const timer = this.saveTimers.get(record.id);
    if (timer) clearTimeout(timer);
    this.saveTimers.delete(record.id);
    store.saveJob(record.id, this.toStored(record));
  }

  /** Saves the job's record within {@link PROGRESS_SAVE_INTERVAL_MS} (progress changes often). */
  private saveSoon(record: JobRecord): void {
    if (!this.options.store || this.saveTimers.has(record.id)) return;
    const timer = setTimeout(() => this.save(record), PROGRESS_SAVE_INTERVAL_MS);
    timer.unref();
    this.saveTimers.set(record.id, timer);
  }

  /**
   * Coordinator shutdown: cancels every job still active, or, with `keepJobsOnClose`, saves them as
   * they are for the next coordinator.
   */
  async close(): Promise<void> {
    clearInterval(this.monitor);
    if (this.options.keepJobsOnClose && this.options.store) {
      for (const r of this.jobs.values()) {
        r.abort.abort();
        this.save(r);
      }
    } else {
      await Promise.all(
        [...this.jobs.values()].map((r) =>
          isTerminal(r.state) ? undefined : this.end(r, JobStates.cancelled, 'coordinator shut down'),
        ),
      );
    }
    this.loader.close();
  }
}
