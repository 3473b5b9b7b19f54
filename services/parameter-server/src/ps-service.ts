import {
  AbortedError,
  ConflictError,
  LIMITS,
  NotFoundError,
  ValidationError,
  checkId,
  checkInt,
  silentLogger,
} from '@distrain/core';
import { NOOP_PS_OBSERVER } from '@distrain/core/ps';
import type { Logger, ServiceBinding } from '@distrain/core';
import type {
  EndJobRequest__Output,
  EndJobResponse,
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
import { loadLatestCheckpoint, queueCheckpoint } from './checkpointing.ts';
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
  /** Checkpoints kept per shard and job. @default 2 */
  keepCheckpoints?: number;
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
    this.keepCheckpoints = options.keepCheckpoints ?? 2;
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

  /** Creates (or, for an identical request, returns) a job's state on this shard. */
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
      return initResponse(existing);
    }
    const promise = this.createJob(req);
    this.initializing.set(req.jobId, promise);
    try {
      const job = await promise;
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
      return initResponse(job);
    } finally {
      this.initializing.delete(req.jobId);
    }
  }

  private async createJob(req: InitJobRequest__Output): Promise<ShardJob> {
    const job = createShardJob(req, {
      ...(this.options.shardIndex === undefined ? {} : { shardIndex: this.options.shardIndex }),
      snapshots: {
        maxSnapshots: this.maxSnapshots,
        releaseGraceMs: this.releaseGraceMs,
        logger: this.logger,
      },
      onComplete: (j, ordered, version, waiting, norm) =>
        this.completeStep(j, ordered, version, waiting, norm),
      normDeadlineMs: () => Date.now() + this.maxWaitMs,
      budgetBytes: (this.options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES) - this.heldBytes(),
    });
    if (req.resume) {
      const loaded = await loadLatestCheckpoint(job);
      if (loaded) {
        job.barrier.version = loaded.version;
        job.resumedEpochs = loaded.epoch;
        // The evaluator of a restarted job may still need the last epoch it had not evaluated.
        if (loaded.epoch > 0 && loaded.version === loaded.epoch * job.stepsPerEpoch) {
          job.snapshots.take(
            loaded.epoch,
            loaded.version,
            job.parts.map((p) => [p.info.key, p.params]),
          );
        }
        this.logger.info(
          { jobId: job.jobId, file: loaded.path, version: loaded.version, epoch: loaded.epoch },
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
    const contribution = validatePush(job, req);
    return job.barrier.push(req.rank, req.step, contribution, ctx).then((res) => {
      // Per waiter (the step's result is shared): how long this push stayed here.
      const serverSeconds = (performance.now() - t0) / 1000;
      this.observer.onPushAnswered?.(job.jobId, serverSeconds);
      return { ...res, serverSeconds };
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
    if (version % job.stepsPerEpoch === 0) {
      const epoch = version / job.stepsPerEpoch;
      const snapshot = job.snapshots.take(
        epoch,
        version,
        job.parts.map((p) => [p.info.key, p.params]),
      );
      queueCheckpoint(job, snapshot, epoch, {
        keep: this.keepCheckpoints,
        logger: this.logger,
        observer: this.observer,
      });
    }
    return response;
  }

  /** Current parameters (epoch 0) or the snapshot at the end of `epoch`, waiting for it up to the deadline. */
  async pull(req: PullRequest__Output, ctx: CallContext): Promise<PullResponse> {
    const job = this.job(req.jobId);
    checkInt('epoch', req.epoch, 0, Math.floor(LIMITS.maxSteps / job.stepsPerEpoch));
    if (req.epoch === 0) return { version: job.barrier.version, params: job.paramTensors };
    const passed = job.barrier.version >= req.epoch * job.stepsPerEpoch;
    const snapshot = await job.snapshots.get(req.epoch, passed, ctx, () => job.barrier.version);
    const res: PullResponse = {
      version: snapshot.version,
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

function initResponse(job: ShardJob): InitJobResponse {
  return { version: job.barrier.version, partCount: job.parts.length, resumedEpochs: job.resumedEpochs };
}
