// Over 400 lines on purpose: every operation of one shard in one transport-free class (init with resume and rollback, push, pull from snapshots or checkpoints, members, end).
import {
  AbortedError,
  ConflictError,
  LIMITS,
  NotFoundError,
  StateError,
  ValidationError,
  checkId,
  checkInt,
  silentLogger,
} from '@distrain/core';
import { DirCheckpointStore, NOOP_PS_OBSERVER, float32Digest, shardCheckpointDir } from '@distrain/core/ps';
import { join } from 'node:path';
import type { Logger, ServiceBinding } from '@distrain/core';
import type {
  CheckpointStore,
  EndJobRequest__Output,
  EndJobResponse,
  ExchangeStatsRequest__Output,
  ExchangeStatsResponse,
  InitJobRequest__Output,
  InitJobResponse,
  PsObserver,
  PullRequest__Output,
  PullResponse,
  PushPullRequest__Output,
  PushPullResponse,
  SetMembersRequest__Output,
  SetMembersResponse,
  ShareNormsRequest__Output,
  ShareNormsResponse,
} from '@distrain/core/ps';
import {
  checkpointVersions,
  epochCheckpointParams,
  loadCheckpoint,
  queueCheckpoint,
} from './checkpointing.ts';
import { psGrpcBinding } from './grpc-handlers.ts';
import { validatePush } from './push-validation.ts';
import type { Contribution } from './push-validation.ts';
import {
  aggregate,
  clearJob,
  createShardJob,
  currentResponse,
  encodeParts,
  fingerprintOf,
  jobBytes,
  responseBytes,
} from './shard-job.ts';
import type { ShardJob } from './shard-job.ts';
import { StatExchange } from './stat-exchange.ts';
import type { CallContext } from './wait.ts';

export type { CallContext } from './wait.ts';

/** Default of {@link ParameterServerOptions.maxHeldBytes}: 16 GiB. */
export const DEFAULT_MAX_HELD_BYTES = 16 * 1024 ** 3;

/** Options of {@link ParameterServerService}. */
export interface ParameterServerOptions {
  /** When set, InitJob requests for another shard index are refused (guards against misrouted shards). */
  shardIndex?: number;
  logger?: Logger;
  /** Metrics hooks. @default no-op */
  observer?: PsObserver;
  /**
   * Most bytes of parameters and optimizer slots this shard holds over all jobs; an InitJob beyond it
   * is RESOURCE_EXHAUSTED. @default 16 GiB
   */
  maxHeldBytes?: number;
  /** Longest wait of a call that carries no deadline (barrier, snapshot). @default 300000 */
  maxWaitMs?: number;
  /** Epoch snapshots kept per job for the evaluator; older ones are dropped. @default 4 */
  maxSnapshots?: number;
  /** Newest checkpoints kept per shard, job and store (epoch checkpoints besides: `maxSnapshots`). @default 3 */
  keepCheckpoints?: number;
  /**
   * This shard's checkpoint folder (a volume): a job whose InitJob names no `checkpoint_dir` keeps
   * its checkpoints under `<dir>/<job id>/shard-<index>`. @default none
   */
  checkpointDir?: string;
  /** More checkpoint stores of a job (JetStream Object Store with `--nats`). @default none */
  checkpointStores?: (jobId: string, shardIndex: number) => CheckpointStore[];
  /**
   * How long a released snapshot stays pullable: a client whose pull succeeded on one shard and timed
   * out on another retries on both, and must not find the first one gone. @default 30000
   */
  releaseGraceMs?: number;
}

/**
 * One parameter-server shard, transport-free: the jobs it holds and the operations of
 * `distrain.v1.ParameterServerService`. The parts: the job record (`shard-job.ts`), the step barrier
 * (`barrier.ts`), epoch snapshots (`snapshots.ts`), checkpointing (`checkpointing.ts`), push
 * validation (`push-validation.ts`); the gRPC layer is `grpc-handlers.ts`.
 *
 * Single-threaded invariant: a step is aggregated and applied synchronously, and the responses of its
 * waiting pushes are serialized in the microtasks right after, before any later request (a
 * macrotask) can mutate the parameters again. That is what makes the zero-copy `encodeTensor` views
 * of live parameters safe.
 */
export class ParameterServerService {
  private readonly jobs = new Map<string, ShardJob>();
  private readonly initializing = new Map<string, Promise<ShardJob>>();
  /** Synchronized batch norm's all-gather per job (shard 0 serves it), made on first use. */
  private readonly stats = new Map<string, StatExchange>();
  private readonly logger: Logger;
  private readonly observer: PsObserver;
  private readonly maxWaitMs: number;
  private readonly maxSnapshots: number;
  private readonly keepCheckpoints: number;
  private readonly releaseGraceMs: number;
  private closed = false;
  /** The data plane this shard serves (answered by the DataPlane call); port 0: none. */
  dataPlane: { port: number; transport: string } = { port: 0, transport: '' };

  constructor(private readonly options: ParameterServerOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.observer = options.observer ?? NOOP_PS_OBSERVER;
    this.maxWaitMs = options.maxWaitMs ?? 300_000;
    this.maxSnapshots = options.maxSnapshots ?? 4;
    this.keepCheckpoints = options.keepCheckpoints ?? 3;
    this.releaseGraceMs = options.releaseGraceMs ?? 30_000;
  }

  /** The binding for `startGrpcServer`. */
  binding(): ServiceBinding {
    return psGrpcBinding(this, { logger: this.logger, observer: this.observer, maxWaitMs: this.maxWaitMs });
  }

  /** Longest wait of a call that carries no deadline, ms. */
  get defaultWaitMs(): number {
    return this.maxWaitMs;
  }

  /** Ids of the jobs held. */
  jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  /** Bytes of parameters, slots and snapshots held for `jobId` (all jobs when omitted). */
  heldBytes(jobId?: string): number {
    let total = 0;
    for (const job of this.jobs.values())
      if (jobId === undefined || job.jobId === jobId) total += jobBytes(job);
    return total;
  }

  /** Current version of a job, or undefined. */
  version(jobId: string): number | undefined {
    return this.jobs.get(jobId)?.barrier.version;
  }

  /**
   * Creates (or, for an identical request, returns) a job's state on this shard; with `resume`
   * from the newest checkpoint, with `rollback` at exactly `resume_version` (a held job at another
   * version is dropped and rebuilt).
   */
  async initJob(req: InitJobRequest__Output): Promise<InitJobResponse> {
    if (this.closed) throw new AbortedError('parameter server is shutting down');
    checkId('job_id', req.jobId);
    const inFlight = this.initializing.get(req.jobId);
    if (inFlight) await inFlight.catch(() => undefined);
    const existing = this.jobs.get(req.jobId);
    if (existing) {
      if (existing.fingerprint !== fingerprintOf(req)) {
        throw new ConflictError(`job ${req.jobId} already exists on this shard with a different spec`, {
          jobId: req.jobId,
        });
      }
      const target = Number(req.resumeVersion ?? 0);
      if (!(req.resume && req.rollback) || existing.barrier.version === target) {
        // A rollback reaches every shard of the job: one already at the target drops its pending
        // step too (ABORTED: the ranks resync and push it again). Kept, a push whose rank gave up the
        // call when another shard rolled back would complete the step here with the other ranks'
        // fresh pushes, and the shards would stay a step apart, rolled back in turn forever.
        if (req.resume && req.rollback)
          existing.barrier.abort(
            new AbortedError(`job ${req.jobId} rolled back to version ${target}; retry from there`, {
              jobId: req.jobId,
            }),
          );
        return initResponse(existing, false, req.resume ? await checkpointVersions(existing) : []);
      }
    }
    // While a held job is rolled back (the checkpoint loads asynchronously), its pushes are refused
    // (ABORTED: the trainers resync): answered by the old state, a push of the target step would
    // count as applied here and never reach the rolled-back job, leaving the shards a step apart.
    const promise = this.createJob(req);
    this.initializing.set(req.jobId, promise);
    try {
      const job = await promise;
      if (existing) {
        // Roll back (the other shards of the job are at the target): the held state is dropped only
        // once the checkpoint loaded, and checkpoints of the abandoned steps are deleted.
        this.logger.warn(
          { jobId: job.jobId, from: existing.barrier.version, to: job.barrier.version },
          'rolled the job back to a checkpoint',
        );
        this.jobs.delete(req.jobId);
        this.abortJob(
          existing,
          `job ${req.jobId} rolled back to version ${job.barrier.version}; retry from there`,
        );
        await existing.checkpointChain;
        await Promise.all(job.checkpointStores.map((s) => s.discardAfter(job.barrier.version)));
      }
      this.jobs.set(job.jobId, job);
      this.observer.onVersion(job.jobId, job.barrier.version);
      this.logger.info(
        {
          jobId: job.jobId,
          parts: job.parts.length,
          bytes: jobBytes(job),
          version: job.barrier.version,
          resumedEpochs: job.resumedEpochs,
        },
        'job initialized',
      );
      return initResponse(job, true, req.resume ? await checkpointVersions(job) : []);
    } finally {
      this.initializing.delete(req.jobId);
    }
  }

  /** The job's checkpoint stores: its InitJob folder or this shard's, plus any others configured. */
  private storesFor(req: InitJobRequest__Output): CheckpointStore[] {
    const stores: CheckpointStore[] = [];
    if (req.checkpointDir)
      stores.push(new DirCheckpointStore(join(req.checkpointDir, `shard-${req.shardIndex}`)));
    else if (this.options.checkpointDir)
      stores.push(
        new DirCheckpointStore(shardCheckpointDir(this.options.checkpointDir, req.jobId, req.shardIndex)),
      );
    stores.push(...(this.options.checkpointStores?.(req.jobId, req.shardIndex) ?? []));
    return stores;
  }

  private async createJob(req: InitJobRequest__Output): Promise<ShardJob> {
    const job = createShardJob(req, {
      ...(this.options.shardIndex === undefined ? {} : { shardIndex: this.options.shardIndex }),
      snapshots: {
        maxSnapshots: this.maxSnapshots,
        releaseGraceMs: this.releaseGraceMs,
        logger: this.logger,
      },
      checkpointStores: this.storesFor(req),
      onComplete: (j, ordered, version, waiting, norm) =>
        this.completeStep(j, ordered, version, waiting, norm),
      normDeadlineMs: () => Date.now() + this.maxWaitMs,
      budgetBytes: (this.options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES) - this.heldBytes(),
    });
    const want = req.rollback ? Number(req.resumeVersion ?? 0) : undefined;
    if (req.resume && want !== 0) {
      const loaded = await loadCheckpoint(job, want);
      if (!loaded && want !== undefined) {
        throw new StateError(
          `no checkpoint of job ${job.jobId} at version ${want} on shard ${job.shardIndex} (${job.checkpointStores.map((s) => s.location).join(', ') || 'no checkpoint store'})`,
          { jobId: job.jobId },
        );
      }
      if (loaded) {
        job.barrier.version = loaded.version;
        job.resumedEpochs = loaded.epoch;
        job.restoredVersion = loaded.version;
        // The evaluator of a restarted job may still need the last epoch it had not evaluated.
        if (loaded.epoch > 0 && loaded.version === loaded.epoch * job.stepsPerEpoch) {
          job.snapshots.take(
            loaded.epoch,
            loaded.version,
            job.parts.map((p) => [p.info.key, p.params]),
          );
        }
        this.logger.info(
          { jobId: job.jobId, from: loaded.location, version: loaded.version, epoch: loaded.epoch },
          'resumed from checkpoint',
        );
      }
    }
    return job;
  }

  /** One rank's push for a step; resolves with this shard's parameters once the step is applied. */
  pushPull(req: PushPullRequest__Output, ctx: CallContext): Promise<PushPullResponse> {
    const t0 = performance.now();
    const job = this.job(req.jobId);
    // A held job being initialized again is being rolled back (see initJob).
    if (this.initializing.has(req.jobId))
      throw new AbortedError(`job ${req.jobId} is being rolled back to a checkpoint; retry from there`, {
        jobId: req.jobId,
      });
    if (req.ackOnly && job.worldSize !== 1)
      throw new ValidationError(
        'ackOnly',
        `only a job's only trainer applies its steps itself; job ${req.jobId} has ${job.worldSize} ranks (send ackOnly false)`,
      );
    const contribution = validatePush(job, req);
    return job.barrier.push(req.rank, req.step, contribution, ctx).then((res) => {
      // Per waiter (the step's result is shared): how long this push stayed here.
      const serverSeconds = (performance.now() - t0) / 1000;
      this.observer.onPushAnswered?.(job.jobId, serverSeconds);
      if (!req.ackOnly) return { ...res, serverSeconds };
      // The only rank: no later step can have been applied before it pushes again.
      const paramsChecksum = float32Digest(job.parts.map((p) => p.params)).checksum;
      return { ...res, params: [], paramsChecksum, serverSeconds };
    });
  }

  /**
   * The barrier completed: aggregate and apply (scheduled learning rate, clip factor of `norm`; NaN:
   * no clipping), snapshot and checkpoint at an epoch end.
   */
  private completeStep(
    job: ShardJob,
    ordered: Contribution[],
    version: number,
    waiting: number,
    norm: number,
  ): PushPullResponse {
    const t0 = performance.now();
    const { bytesIn, learningRate, clipped } = aggregate(job, ordered, version, norm);
    const seconds = (performance.now() - t0) / 1000;
    const response: PushPullResponse = { ...currentResponse(job), applySeconds: seconds };
    this.observer.onAggregate(job.jobId, seconds, bytesIn, responseBytes(response) * waiting);
    this.observer.onVersion(job.jobId, version);
    this.observer.onStep?.(job.jobId, learningRate, norm, clipped);
    const writes = {
      keep: this.keepCheckpoints,
      keepEpochs: this.maxSnapshots,
      logger: this.logger,
      observer: this.observer,
    };
    if (version % job.stepsPerEpoch === 0) {
      const epoch = version / job.stepsPerEpoch;
      const snapshot = job.snapshots.take(
        epoch,
        version,
        job.parts.map((p) => [p.info.key, p.params]),
      );
      queueCheckpoint(job, epoch, true, snapshot.params, writes);
    } else if (job.checkpointEverySteps > 0 && version % job.checkpointEverySteps === 0) {
      queueCheckpoint(job, Math.floor(version / job.stepsPerEpoch), false, undefined, writes);
    }
    return response;
  }

  /** Current parameters (epoch 0) or the snapshot at the end of `epoch`, waiting for it up to the deadline. */
  async pull(req: PullRequest__Output, ctx: CallContext): Promise<PullResponse> {
    const job = this.job(req.jobId);
    checkInt('epoch', req.epoch, 0, Math.floor(LIMITS.maxSteps / job.stepsPerEpoch));
    if (req.epoch === 0) return { version: job.barrier.version, params: job.paramTensors };
    const passed = job.barrier.version >= req.epoch * job.stepsPerEpoch;
    if (passed && !job.snapshots.has(req.epoch)) {
      // Released, dropped, or lost with a restart: the epoch checkpoint holds the same values.
      const saved = await epochCheckpointParams(job, req.epoch);
      if (!saved) {
        throw new NotFoundError(
          `snapshot of epoch ${req.epoch} of job ${job.jobId} was released or dropped and no epoch checkpoint holds it`,
          { jobId: job.jobId },
        );
      }
      return {
        version: saved.version,
        params: encodeParts(job.parts, (p) => saved.params.get(p.info.key) as Float32Array),
      };
    }
    const snapshot = await job.snapshots.get(req.epoch, passed, ctx, () => job.barrier.version);
    const res: PullResponse = {
      version: snapshot.version,
      snapshotTimeMs: snapshot.takenAtMs,
      params: encodeParts(job.parts, (p) => snapshot.params.get(p.info.key) as Float32Array),
    };
    if (req.release) job.snapshots.release(req.epoch, snapshot);
    return res;
  }

  /** Sets the live ranks; a pending step whose remaining ranks have all pushed completes at once. */
  setMembers(req: SetMembersRequest__Output): SetMembersResponse {
    const job = this.job(req.jobId);
    if (req.ranks.length === 0) throw new ValidationError('ranks', 'must not be empty');
    if (req.ranks.length > job.worldSize)
      throw new ValidationError(
        'ranks',
        `has ${req.ranks.length} entries, the job has ${job.worldSize} ranks`,
      );
    for (const [i, r] of req.ranks.entries())
      checkInt(`ranks[${i}]`, r, 0, job.worldSize - 1, `the job's world size is ${job.worldSize}`);
    const members = job.barrier.setMembers(req.ranks);
    this.stats.get(job.jobId)?.onMembers();
    this.logger.info({ jobId: job.jobId, members, version: job.barrier.version }, 'members set');
    return { version: job.barrier.version };
  }

  /** A peer shard's gradient-norm partials of a step (clipping across shards). */
  shareNorms(req: ShareNormsRequest__Output): ShareNormsResponse {
    const job = this.job(req.jobId);
    if (job.norms === undefined)
      throw new ValidationError(
        'job_id',
        `job ${job.jobId} does not clip gradients (optimizer.clip_norm is 0)`,
      );
    job.norms.handle(req);
    return {};
  }

  /** One rank's batch-norm statistics of a step (synchronized batch norm); see `stat-exchange.ts`. */
  exchangeStats(req: ExchangeStatsRequest__Output, ctx: CallContext): Promise<ExchangeStatsResponse> {
    const job = this.job(req.jobId);
    let ex = this.stats.get(job.jobId);
    if (ex === undefined) {
      ex = new StatExchange(job.jobId, job.barrier);
      this.stats.set(job.jobId, ex);
    }
    return ex.exchange(req, ctx);
  }

  /** Frees a job; waiting pushes and pulls end with ABORTED. Idempotent. */
  async endJob(req: EndJobRequest__Output): Promise<EndJobResponse> {
    checkId('job_id', req.jobId);
    const inFlight = this.initializing.get(req.jobId);
    if (inFlight) await inFlight.catch(() => undefined);
    const job = this.jobs.get(req.jobId);
    if (!job) return { freedBytes: 0 };
    const freed = jobBytes(job);
    this.jobs.delete(req.jobId);
    this.abortJob(job, `job ${job.jobId} ended`);
    // Finish a checkpoint in flight so the folder is complete when EndJob returns.
    await job.checkpointChain;
    this.observer.onJobEnded(job.jobId);
    this.logger.info({ jobId: job.jobId, freedBytes: freed }, 'job ended');
    return { freedBytes: freed };
  }

  private abortJob(job: ShardJob, why: string): void {
    const err = new AbortedError(why, { jobId: job.jobId });
    job.barrier.abort(err);
    job.snapshots.abort(err);
    this.stats.get(job.jobId)?.abort(err);
    this.stats.delete(job.jobId);
    clearJob(job);
  }

  /** Refuses new work, aborts every waiting call with ABORTED and waits for checkpoint writes. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.jobs.values()];
    for (const job of jobs) this.abortJob(job, 'parameter server is shutting down');
    this.jobs.clear();
    await Promise.all(jobs.map((j) => j.checkpointChain));
  }

  /** The job `jobId`, or the error a request for it gets. */
  job(jobId: string): ShardJob {
    if (this.closed) throw new AbortedError('parameter server is shutting down');
    checkId('job_id', jobId);
    const job = this.jobs.get(jobId);
    if (!job)
      throw new NotFoundError(`unknown job ${jobId} on this shard (not initialized, or ended)`, { jobId });
    return job;
  }
}

function initResponse(job: ShardJob, created: boolean, checkpointVersions: number[]): InitJobResponse {
  return {
    checkpointVersions,
    version: job.barrier.version,
    partCount: job.parts.length,
    resumedEpochs: job.resumedEpochs,
    created,
    restoredVersion: job.restoredVersion,
  };
}
