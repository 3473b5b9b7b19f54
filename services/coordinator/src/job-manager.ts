import { randomBytes } from 'node:crypto';
import {
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
}

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

  constructor(private readonly options: JobManagerOptions) {
    this.loader = dataLoaderClient(options.loaderAddress);
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 30_000;
    this.monitor = setInterval(() => this.checkLiveness(), options.monitorIntervalMs ?? 1_000);
    this.monitor.unref();
  }

  /** Validates a TrainingJob document, checks it against its dataset, and starts it. */
  async submit(doc: unknown): Promise<Job> {
    const job = validateJob(doc);
    const active = [...this.jobs.values()].filter((j) => !isTerminal(j.state)).length;
    if (active >= (this.options.maxActiveJobs ?? 16)) {
      throw new OverloadError(`${active} jobs are active (the limit); wait for one to end or cancel one`);
    }
    const dataset = await this.describeDataset(job);
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
      progress: { epoch: 0, stepInEpoch: 0, stepsPerEpoch: spe, globalStep: 0, totalSteps: spe * job.spec.epochs },
      epochs: [],
      trainStartMs: 0,
      psShards: [],
      epochEndMs: [],
      workers: new Map(),
      abort: new AbortController(),
    };
    this.jobs.set(id, record);
    this.setState(record, JobStates.pending, '');
    void this.start(record).catch((err: unknown) => this.fail(record, `could not start: ${(err as Error).message}`));
    return this.toWire(record);
  }

  private async describeDataset(job: TrainingJob): Promise<DatasetInfo> {
    const d = job.spec.dataset;
    let res: DescribeDatasetResponse__Output;
    try {
      res = await unary(this.loader, this.loader.describeDataset, {
        dataset: datasetSpecToWire(d),
      }, { timeoutMs: this.rpcTimeoutMs, retries: 3 });
    } catch (err) {
      const e = err as { details?: string; message: string };
      throw new ValidationError('spec.dataset', e.details ?? e.message, { cause: err });
    }
    return {
      datasetId: res.datasetId,
      trainCount: res.trainCount,
      testCount: res.testCount,
      featureShape: res.featureShape,
      featureDtype: res.featureDtype === 'DTYPE_UINT8' ? 'uint8' : 'float32',
      featureScale: res.featureScale,
      numClasses: res.numClasses,
      classNames: res.classNames,
    };
  }

  private async start(record: JobRecord): Promise<void> {
    const { job } = record;
    record.psShards = this.options.psAddresses.slice(0, Math.max(1, Math.min(job.spec.parameterServer.shards, this.options.psAddresses.length)));
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
      ...(job.spec.checkpoint.dir === undefined ? {} : { checkpointDir: `${job.spec.checkpoint.dir}/${record.id}` }),
    });
    if (isTerminal(record.state)) return;
    record.startedAtMs = Date.now();
    const now = Date.now();
    for (let rank = 0; rank < job.spec.trainers.replicas; rank++) {
      record.workers.set(`trainer-${rank}`, { role: 'trainer', rank, restarts: 0, lastSeenMs: now, status: 'starting' });
    }
    if (job.spec.evaluation.enabled) {
      record.workers.set('evaluator-0', { role: 'evaluator', rank: 0, restarts: 0, lastSeenMs: now, status: 'starting' });
    }
    this.setState(record, JobStates.running, '');
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
    };
  }

  private async launch(record: JobRecord, slot: WorkerSlot): Promise<void> {
    if (isTerminal(record.state)) return;
    slot.status = 'starting';
    slot.lastSeenMs = Date.now();
    const handle = await this.options.launcher.launch(this.workerConfig(record, slot), slot.restarts);
    slot.handle = handle;
    void handle.exited.then((exit) => {
      if (slot.handle !== handle || isTerminal(record.state)) return;
      if (exit.code === 0 && slot.status === 'done') return this.maybeFinish(record);
      if (exit.code === 0) slot.status = 'done';
      else this.workerFailed(record, slot, exit.reason);
      return this.maybeFinish(record);
    });
  }

  private workerFailed(record: JobRecord, slot: WorkerSlot, reason: string): void {
    const name = `${slot.role} ${slot.role === 'trainer' ? `rank ${slot.rank} ` : ''}`;
    const limit = record.job.spec.fault.maxRestarts;
    if (slot.restarts >= limit) {
      this.fail(record, `${name}failed ${slot.restarts + 1} times (restart limit ${limit}): ${reason}`);
      return;
    }
    slot.restarts++;
    slot.status = 'failed';
    this.log(record, 'warn', `${name}failed (${reason}); restart ${slot.restarts} of ${limit}`);
    const backoffMs = Math.min(500 * 2 ** (slot.restarts - 1), 10_000);
    const timer = setTimeout(() => {
      void this.launch(record, slot).catch((err: unknown) => this.fail(record, `relaunch failed: ${(err as Error).message}`));
    }, backoffMs);
    record.abort.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  /** A worker's heartbeat: liveness, progress, and its done/failed status. */
  heartbeat(req: HeartbeatRequest__Output): { stop: boolean; reason: string } {
    const record = this.get(req.jobId);
    if (isTerminal(record.state)) return { stop: true, reason: `job ${record.state}` };
    const slot = record.workers.get(`${req.role}-${req.rank}`);
    if (!slot) throw new ValidationError('rank', `no ${req.role} ${req.rank} in job ${req.jobId}`);
    slot.lastSeenMs = Date.now();
    if (req.progress) slot.progress = req.progress;
    if (req.status === 'failed') {
      this.log(record, 'error', `${req.role} ${req.rank}: ${req.message}`);
    } else if (req.status === 'done') {
      slot.status = 'done';
      void this.maybeFinish(record);
    } else {
      slot.status = 'running';
    }
    if (req.role === 'trainer' && req.progress && req.status !== 'failed') this.updateProgress(record, slot.rank, req.progress);
    return { stop: false, reason: '' };
  }

  private lastStepEventMs = new Map<string, number>();

  private updateProgress(record: JobRecord, rank: number, p: JobProgress): void {
    let samplesPerSecond = 0;
    for (const w of record.workers.values()) {
      if (w.role === 'trainer' && w.status !== 'done') samplesPerSecond += Number(w.progress?.samplesPerSecond ?? 0);
    }
    const globalStep = Number(p.globalStep ?? 0);
    const now = Date.now();
    if (record.trainStartMs === 0) record.trainStartMs = now;
    for (let e = record.epochEndMs.length + 1; e * record.stepsPerEpoch <= globalStep; e++) record.epochEndMs.push(now);
    if (globalStep >= Number(record.progress.globalStep ?? 0)) {
      record.progress = { ...p, samplesPerSecond, totalSteps: record.progress.totalSteps, stepsPerEpoch: record.stepsPerEpoch };
    }
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
    this.options.logger.info({ jobId, epoch: result.epoch, testAccuracy: result.testAccuracy, trainers: trainers.length }, 'epoch evaluated');
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
    await this.options.launcher.stopJob(record.id).catch((err: unknown) => this.log(record, 'warn', `stopping workers: ${(err as Error).message}`));
    if (record.ps) {
      try {
        record.finalParams = (await record.ps.pull({})).params;
      } catch (err) {
        this.log(record, 'warn', `could not keep the final parameters: ${(err as Error).message}`);
      }
      await record.ps.endJob().catch((err: unknown) => this.log(record, 'warn', `freeing parameter-server state: ${(err as Error).message}`));
      record.ps.close();
    }
    await unary(this.loader, this.loader.releaseJob, { jobId: record.id }, { timeoutMs: 5_000 }).catch(() => undefined);
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
          this.log(record, 'warn', `${name} sent no heartbeat for ${Math.round((now - slot.lastSeenMs) / 1000)} s`);
          void handle?.stop().then(() => {
            if (slot.handle === handle && !isTerminal(record.state)) this.workerFailed(record, slot, 'heartbeat timeout');
          });
        }
      }
    }
  }

  private setState(record: JobRecord, state: JobStateName, reason: string): void {
    record.state = state;
    record.reason = reason;
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
    if (level !== 'info') this.options.events.publish(jobId, { event: 'log', log: { level, source, message } });
  }

  get(id: string): JobRecord {
    const record = this.jobs.get(id);
    if (!record) throw new NotFoundError(`job ${JSON.stringify(id)} not found; list jobs with \`distrain list\``, { jobId: id });
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
      trainSeconds: record.epochEndMs.length > 0 ? ((record.epochEndMs.at(-1) as number) - record.trainStartMs) / 1000 : 0,
      trainSamples: record.epochEndMs.length * (record.dataset?.trainCount ?? 0),
    };
  }

  /** Predictions CSV of the newest evaluated epoch. */
  predictions(id: string): Buffer {
    const record = this.get(id);
    if (!record.predictionsCsv) throw new StateError(`job ${id} has no evaluated epoch yet; wait for the first epoch to end`);
    return record.predictionsCsv;
  }

  /** What an export needs: the job, its dataset and the final (or current) parameters. */
  async exportInputs(id: string): Promise<{ job: TrainingJob; dataset: DatasetInfo; params: ParamMap }> {
    const record = this.get(id);
    let params = record.finalParams;
    if (!params && record.ps && !isTerminal(record.state)) params = (await record.ps.pull({})).params;
    if (!params || !record.dataset) {
      throw new StateError(`job ${id} has no parameters to export (state ${record.state}); wait until it has trained`);
    }
    return { job: record.job, dataset: record.dataset, params };
  }

  /** Records the backend a trainer reported. */
  setBackend(jobId: string, backend: string): void {
    const record = this.jobs.get(jobId);
    if (record) record.backend = backend;
  }

  /** Stops every job (coordinator shutdown). */
  async close(): Promise<void> {
    clearInterval(this.monitor);
    await Promise.all([...this.jobs.values()].map((r) => (isTerminal(r.state) ? undefined : this.end(r, JobStates.cancelled, 'coordinator shut down'))));
    this.loader.close();
  }
}
