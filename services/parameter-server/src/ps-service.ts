import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import {
  AbortedError,
  ConflictError,
  NOOP_PS_OBSERVER,
  NotFoundError,
  StateError,
  TimeoutError,
  ValidationError,
  applyGradients,
  averageStates,
  createSlots,
  decodeFloat32,
  distrainProto,
  encodeTensor,
  initialValues,
  latestCheckpoint,
  optimizerFromSpec,
  partitionPlan,
  pruneCheckpoints,
  readCheckpoint,
  silentLogger,
  slotName,
  slotSuffixes,
  toGrpcStatus,
  variableFromSpec,
  writeCheckpoint,
  DEFAULT_MAX_PART_BYTES,
} from '@distrain/core';
import type {
  Logger,
  OptimizerSettings,
  PartInfo,
  PartPlan,
  PsObserver,
  ServiceBinding,
  VariableInfo,
  EndJobRequest__Output,
  EndJobResponse,
  InitJobRequest__Output,
  InitJobResponse,
  NamedTensor,
  NamedTensor__Output,
  ParameterServerServiceHandlers,
  PullRequest__Output,
  PullResponse,
  PushPullRequest__Output,
  PushPullResponse,
  SetMembersRequest__Output,
  SetMembersResponse,
} from '@distrain/core';

/** Options of {@link ParameterServerService}. */
export interface ParameterServerOptions {
  /** When set, InitJob requests for another shard index are refused (guards against misrouted shards). */
  shardIndex?: number;
  logger?: Logger;
  /** Metrics hooks. @default no-op */
  observer?: PsObserver;
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

/** Per-call context: when the wait must end, and a signal for a cancelled call. */
export interface CallContext {
  /** Absolute deadline, ms since the epoch. */
  deadlineMs: number;
  signal?: AbortSignal;
}

interface Part {
  info: PartInfo;
  params: Float32Array;
  /** Optimizer slots in slotSuffixes order (empty for state parts). */
  slots: Float32Array[];
}

interface Contribution {
  sampleCount: number;
  lossSum: number;
  grads: Map<string, Float32Array>;
  states: Map<string, Float32Array>;
  bytes: number;
}

interface Waiter {
  rank: number;
  resolve(res: PushPullResponse): void;
  reject(err: Error): void;
}

interface PendingStep {
  step: number;
  contributions: Map<number, Contribution>;
  waiters: Set<Waiter>;
  firstPushAt: number;
}

interface Snapshot {
  version: number;
  params: Map<string, Float32Array>;
  /** Set once released: frees the snapshot after the grace period. */
  releaseTimer?: NodeJS.Timeout;
}

interface SnapshotWaiter {
  epoch: number;
  resolve(s: Snapshot): void;
  reject(err: Error): void;
}

/**
 * Registers a waiter that ends one way: resolved by whoever completes it, rejected with
 * `timeout()` at the call's deadline, or with AbortedError when the call is cancelled. Whatever
 * ends it unregisters it (`remove`) and clears the timer and the abort listener.
 */
function waitUntilDeadline<T, W extends { resolve(v: T): void; reject(err: Error): void }>(
  ctx: CallContext,
  make: (resolve: (v: T) => void, reject: (err: Error) => void) => W,
  add: (w: W) => void,
  remove: (w: W) => void,
  timeout: () => Error,
  aborted: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const waiter = make(resolve, reject);
    const cleanup = (): void => {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      remove(waiter);
    };
    waiter.resolve = (v) => {
      cleanup();
      resolve(v);
    };
    waiter.reject = (err) => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => waiter.reject(timeout()), Math.max(0, ctx.deadlineMs - Date.now()));
    const onAbort = (): void => waiter.reject(aborted());
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    add(waiter);
  });
}

interface Job {
  jobId: string;
  fingerprint: string;
  shardIndex: number;
  shardCount: number;
  variables: VariableInfo[];
  plan: PartPlan;
  /** This shard's parts in plan order. */
  parts: Part[];
  byKey: Map<string, Part>;
  trainableKeys: string[];
  stateKeys: string[];
  /** This shard's trainable and state parts, in plan order (the aggregation loops). */
  trainableParts: Part[];
  stateParts: Part[];
  /**
   * Every part as a wire tensor viewing its live parameters: built once, answered to every push and
   * pull (the views always show the current values).
   */
  paramTensors: NamedTensor[];
  optimizer: OptimizerSettings;
  stepsPerEpoch: number;
  version: number;
  resumedEpochs: number;
  /** Live ranks, ascending: the aggregation order. */
  members: number[];
  pending: PendingStep | undefined;
  lastMeanLoss: number;
  lastRanks: number;
  snapshots: Map<number, Snapshot>;
  snapshotWaiters: Set<SnapshotWaiter>;
  checkpointDir: string | undefined;
  checkpointChain: Promise<void>;
}

const FINGERPRINT_FIELDS = [
  'seed',
  'variables',
  'optimizer',
  'worldSize',
  'stepsPerEpoch',
  'shardIndex',
  'shardCount',
  'maxPartBytes',
] as const;

/**
 * One parameter-server shard: the gRPC implementation of `distrain.v1.ParameterServerService`,
 * holding per-job parameters, optimizer slots, the step barrier, epoch snapshots and checkpoints.
 *
 * Single-threaded invariant: a step is aggregated and applied synchronously, and the responses of its
 * waiting pushes are serialized (grpc-js serializes in `callback`) in the microtasks right after, before
 * any later request (a macrotask) can mutate the parameters again. That is what makes the zero-copy
 * `encodeTensor` views of live parameters safe.
 */
export class ParameterServerService {
  private readonly jobs = new Map<string, Job>();
  private readonly initializing = new Map<string, Promise<Job>>();
  private readonly logger: Logger;
  private readonly observer: PsObserver;
  private readonly maxWaitMs: number;
  private readonly maxSnapshots: number;
  private readonly keepCheckpoints: number;
  private readonly releaseGraceMs: number;
  private closed = false;

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
    return {
      name: 'distrain.v1.ParameterServerService',
      definition: distrainProto().ParameterServerService.service,
      implementation: this.handlers(),
    };
  }

  /** grpc-js handlers; errors become status codes only through `toGrpcStatus`. */
  handlers(): ParameterServerServiceHandlers {
    return {
      InitJob: this.unary((req: InitJobRequest__Output) => this.initJob(req)),
      PushPull: this.unary((req: PushPullRequest__Output, ctx) => this.pushPull(req, ctx)),
      Pull: this.unary((req: PullRequest__Output, ctx) => this.pull(req, ctx)),
      SetMembers: this.unary((req: SetMembersRequest__Output) => Promise.resolve(this.setMembers(req))),
      EndJob: this.unary((req: EndJobRequest__Output) => this.endJob(req)),
    };
  }

  private unary<Req, Res>(fn: (req: Req, ctx: CallContext) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const d = call.getDeadline();
      const deadline = d instanceof Date ? d.getTime() : d;
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      const ctx: CallContext = {
        deadlineMs: Number.isFinite(deadline) ? deadline : Date.now() + this.maxWaitMs,
        signal: ac.signal,
      };
      let promise: Promise<Res>;
      try {
        promise = fn(call.request, ctx);
      } catch (err) {
        promise = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      promise.then(
        (res) => callback(null, res),
        (err: unknown) => {
          const st = toGrpcStatus(err, (e) => this.logger.error({ err: e }, 'internal error'));
          this.observer.onRejected(reasonOf(st.code));
          if (st.code === GrpcStatus.INTERNAL) this.logger.warn({ details: st.details }, 'request failed');
          callback({ code: st.code, details: st.details });
        },
      );
    };
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
    return this.jobs.get(jobId)?.version;
  }

  // ---------------------------------------------------------------------------------------- InitJob

  /** Creates (or, for an identical request, returns) a job's state on this shard. */
  async initJob(req: InitJobRequest__Output): Promise<InitJobResponse> {
    if (this.closed) throw new AbortedError('parameter server is shutting down');
    if (!req.jobId) throw new ValidationError('job_id', 'must not be empty');
    const fingerprint = fingerprintOf(req);
    const inFlight = this.initializing.get(req.jobId);
    if (inFlight) await inFlight.catch(() => undefined);
    const existing = this.jobs.get(req.jobId);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw new ConflictError(`job ${req.jobId} already exists on this shard with a different spec`, {
          jobId: req.jobId,
        });
      }
      return {
        version: existing.version,
        partCount: existing.parts.length,
        resumedEpochs: existing.resumedEpochs,
      };
    }
    const promise = this.createJob(req, fingerprint);
    this.initializing.set(req.jobId, promise);
    try {
      const job = await promise;
      this.jobs.set(job.jobId, job);
      this.observer.onVersion(job.jobId, job.version);
      this.logger.info(
        {
          jobId: job.jobId,
          parts: job.parts.length,
          bytes: jobBytes(job),
          version: job.version,
          resumedEpochs: job.resumedEpochs,
        },
        'job initialized',
      );
      return { version: job.version, partCount: job.parts.length, resumedEpochs: job.resumedEpochs };
    } finally {
      this.initializing.delete(req.jobId);
    }
  }

  private async createJob(req: InitJobRequest__Output, fingerprint: string): Promise<Job> {
    if (req.variables.length === 0) throw new ValidationError('variables', 'must not be empty');
    const variables = req.variables.map((v, i) => variableFromSpec(v, i));
    const optimizer = optimizerFromSpec(req.optimizer);
    if (req.worldSize < 1) throw new ValidationError('world_size', 'must be at least 1');
    if (req.stepsPerEpoch < 1) throw new ValidationError('steps_per_epoch', 'must be at least 1');
    if (req.shardCount < 1) throw new ValidationError('shard_count', 'must be at least 1');
    if (req.shardIndex >= req.shardCount) {
      throw new ValidationError(
        'shard_index',
        `must be below shard_count ${req.shardCount}, got ${req.shardIndex}`,
      );
    }
    if (this.options.shardIndex !== undefined && req.shardIndex !== this.options.shardIndex) {
      throw new ValidationError(
        'shard_index',
        `this is shard ${this.options.shardIndex}, the request is for shard ${req.shardIndex}`,
      );
    }
    let plan: PartPlan;
    try {
      plan = partitionPlan(variables, req.shardCount, req.maxPartBytes || DEFAULT_MAX_PART_BYTES);
    } catch (err) {
      if (err instanceof ValidationError && err.field === 'maxPartBytes') {
        throw new ValidationError('max_part_bytes', err.message.replace(/^maxPartBytes: /, ''));
      }
      throw err;
    }
    const mine = plan.byShard[req.shardIndex] ?? [];
    const given = new Map<string, Float32Array>();
    for (const nt of req.initialValues ?? []) {
      const idx = variables.findIndex((v) => v.name === nt.name);
      if (idx < 0) throw new ValidationError('initial_values', `names unknown variable "${nt.name}"`);
      const t = decodeFloat32(nt.tensor as NonNullable<typeof nt.tensor>, `initial_values[${nt.name}]`);
      const want = (variables[idx] as VariableInfo).shape.reduce((a, b) => a * b, 1);
      if (t.data.length !== want)
        throw new ValidationError(
          'initial_values',
          `"${nt.name}" has ${t.data.length} values, its shape needs ${want}`,
        );
      given.set(nt.name, t.data);
    }
    const parts: Part[] = [];
    let values: Float32Array | undefined;
    let valuesOf = -1;
    for (const info of mine) {
      // A shard initializes whole variables and keeps its slices: done once, and identical whatever the
      // shard count because each variable has its own random stream.
      if (valuesOf !== info.variableIndex) {
        const v = variables[info.variableIndex] as VariableInfo;
        values = given.get(v.name) ?? initialValues(v, info.variableIndex, req.seed);
        valuesOf = info.variableIndex;
      }
      parts.push({
        info,
        params: (values as Float32Array).slice(info.offset, info.offset + info.length),
        slots: info.trainable ? createSlots(optimizer.type, info.length) : [],
      });
    }
    const job: Job = {
      jobId: req.jobId,
      fingerprint,
      shardIndex: req.shardIndex,
      shardCount: req.shardCount,
      variables,
      plan,
      parts,
      byKey: new Map(parts.map((p) => [p.info.key, p])),
      trainableKeys: parts.filter((p) => p.info.trainable).map((p) => p.info.key),
      stateKeys: parts.filter((p) => !p.info.trainable).map((p) => p.info.key),
      trainableParts: parts.filter((p) => p.info.trainable),
      stateParts: parts.filter((p) => !p.info.trainable),
      paramTensors: encodeParts(parts, (p) => p.params),
      optimizer,
      stepsPerEpoch: req.stepsPerEpoch,
      version: 0,
      resumedEpochs: 0,
      members: Array.from({ length: req.worldSize }, (_, i) => i),
      pending: undefined,
      lastMeanLoss: 0,
      lastRanks: 0,
      snapshots: new Map(),
      snapshotWaiters: new Set(),
      checkpointDir: req.checkpointDir ? join(req.checkpointDir, `shard-${req.shardIndex}`) : undefined,
      checkpointChain: Promise.resolve(),
    };
    if (req.resume && job.checkpointDir) await this.resume(job);
    return job;
  }

  private async resume(job: Job): Promise<void> {
    const dir = job.checkpointDir as string;
    const path = await latestCheckpoint(dir);
    if (!path) return;
    const ckpt = await readCheckpoint(path);
    const ctx = { jobId: job.jobId, file: path };
    if (ckpt.shardCount !== job.shardCount || ckpt.shardIndex !== job.shardIndex) {
      throw new StateError(
        `checkpoint ${path} belongs to shard ${ckpt.shardIndex} of ${ckpt.shardCount}, not ${job.shardIndex} of ${job.shardCount}`,
        ctx,
      );
    }
    if (ckpt.optimizer !== job.optimizer.type) {
      throw new StateError(
        `checkpoint ${path} holds ${ckpt.optimizer} slots, the job uses ${job.optimizer.type}`,
        ctx,
      );
    }
    const suffixes = slotSuffixes(job.optimizer.type);
    const take = (name: string, into: Float32Array): void => {
      const data = ckpt.tensors.get(name);
      if (!data || data.length !== into.length) {
        throw new StateError(
          `checkpoint ${path} has no tensor ${name} of ${into.length} elements (another model?)`,
          ctx,
        );
      }
      into.set(data);
    };
    for (const part of job.parts) {
      take(part.info.key, part.params);
      part.slots.forEach((slot, i) => take(slotName(part.info.key, suffixes[i] as string), slot));
    }
    job.version = ckpt.version;
    job.resumedEpochs = ckpt.epoch;
    // The evaluator of a restarted job may still need the last epoch it had not evaluated.
    if (ckpt.epoch > 0 && ckpt.version === ckpt.epoch * job.stepsPerEpoch) this.takeSnapshot(job, ckpt.epoch);
    this.logger.info(
      { jobId: job.jobId, file: path, version: job.version, epoch: ckpt.epoch },
      'resumed from checkpoint',
    );
  }

  // --------------------------------------------------------------------------------------- PushPull

  /** One rank's push for a step; resolves with this shard's parameters once the step is applied. */
  pushPull(req: PushPullRequest__Output, ctx: CallContext): Promise<PushPullResponse> {
    const job = this.job(req.jobId);
    const contribution = validatePush(job, req);
    if (!job.members.includes(req.rank)) {
      throw new StateError(
        `rank ${req.rank} is not a member of job ${job.jobId} (evicted?); members: ${job.members.join(',')}`,
        {
          jobId: job.jobId,
          step: req.step,
          field: 'rank',
        },
      );
    }
    if (req.step < job.version) {
      // Already applied (a retry after a lost response): never apply twice, answer with what is current.
      return Promise.resolve(this.response(job));
    }
    if (req.step > job.version) {
      throw new StateError(
        `step ${req.step} is ahead of the barrier (job ${job.jobId} is at step ${job.version})`,
        {
          jobId: job.jobId,
          step: req.step,
          field: 'step',
        },
      );
    }
    job.pending ??= {
      step: req.step,
      contributions: new Map(),
      waiters: new Set(),
      firstPushAt: performance.now(),
    };
    const pending = job.pending;
    // A duplicate push for the pending step replaces nothing (the first one counts) and waits too.
    if (!pending.contributions.has(req.rank)) pending.contributions.set(req.rank, contribution);
    // The contribution stays after a timeout or cancel: a retry of the same (rank, step) then only
    // waits, and the step can still complete when the other ranks arrive.
    const result = waitUntilDeadline<PushPullResponse, Waiter>(
      ctx,
      (resolve, reject) => ({ rank: req.rank, resolve, reject }),
      (w) => pending.waiters.add(w),
      (w) => pending.waiters.delete(w),
      () =>
        new TimeoutError(
          `barrier of step ${req.step} not complete by the deadline: pushed ${[...pending.contributions.keys()].join(',')}, members ${job.members.join(',')}`,
          { jobId: job.jobId, step: req.step },
        ),
      () => new AbortedError('call cancelled', { jobId: job.jobId, step: req.step }),
    );
    this.maybeComplete(job);
    return result;
  }

  private maybeComplete(job: Job): void {
    const pending = job.pending;
    if (!pending) return;
    for (const r of job.members) if (!pending.contributions.has(r)) return;
    const t0 = performance.now();
    let total = 0;
    let lossSum = 0;
    let bytesIn = 0;
    // Rank order (members are kept sorted): floating-point sums are then the same on every run.
    const ordered: Contribution[] = [];
    for (const r of job.members) {
      const c = pending.contributions.get(r) as Contribution;
      ordered.push(c);
      total += c.sampleCount;
      lossSum += c.lossSum;
      bytesIn += c.bytes;
    }
    if (total > 0) {
      const scale = 1 / total;
      const t = job.version + 1;
      // Reused lists: no per-part allocation on the step path.
      const grads = GRADS;
      const states = STATES;
      const weights = WEIGHTS;
      for (const part of job.trainableParts) {
        grads.length = 0;
        for (const c of ordered) {
          const g = c.grads.get(part.info.key);
          if (g) grads.push(g);
        }
        applyGradients(job.optimizer, part.params, part.slots, grads, scale, t);
      }
      for (const part of job.stateParts) {
        states.length = 0;
        weights.length = 0;
        for (const c of ordered) {
          const s = c.states.get(part.info.key);
          if (s && c.sampleCount > 0) {
            states.push(s);
            weights.push(c.sampleCount);
          }
        }
        averageStates(part.params, states, weights);
      }
      grads.length = 0; // drop the references to the received messages
      states.length = 0;
    }
    job.version += 1;
    job.lastMeanLoss = total > 0 ? lossSum / total : 0;
    job.lastRanks = ordered.length;
    job.pending = undefined;
    const response = this.response(job);
    const seconds = (performance.now() - t0) / 1000;
    this.observer.onAggregate(job.jobId, seconds, bytesIn, responseBytes(response) * pending.waiters.size);
    this.observer.onVersion(job.jobId, job.version);
    if (job.version % job.stepsPerEpoch === 0) this.endOfEpoch(job, job.version / job.stepsPerEpoch);
    for (const w of [...pending.waiters]) w.resolve(response);
  }

  private response(job: Job): PushPullResponse {
    return {
      version: job.version,
      params: job.paramTensors,
      meanLoss: job.lastMeanLoss,
      ranks: job.lastRanks,
    };
  }

  // ------------------------------------------------------------------------------- snapshots, Pull

  private endOfEpoch(job: Job, epoch: number): void {
    const snapshot = this.takeSnapshot(job, epoch);
    if (!job.checkpointDir) return;
    const dir = job.checkpointDir;
    const suffixes = slotSuffixes(job.optimizer.type);
    const tensors = new Map<string, Float32Array>();
    // Fixed order (part, then its slots) so a checkpoint's layout depends only on the plan.
    for (const part of job.parts) {
      tensors.set(part.info.key, snapshot.params.get(part.info.key) as Float32Array);
      part.slots.forEach((slot, i) =>
        tensors.set(slotName(part.info.key, suffixes[i] as string), slot.slice()),
      );
    }
    const ckpt = {
      jobId: job.jobId,
      shardIndex: job.shardIndex,
      shardCount: job.shardCount,
      version: snapshot.version,
      epoch,
      optimizer: job.optimizer.type,
      tensors,
    };
    // Written in the background from copies: the next step need not wait for the disk.
    job.checkpointChain = job.checkpointChain
      .then(async () => {
        const path = await writeCheckpoint(dir, ckpt);
        await pruneCheckpoints(dir, this.keepCheckpoints);
        this.logger.info({ jobId: job.jobId, epoch, path }, 'checkpoint written');
      })
      .catch((err: unknown) => {
        this.observer.onRejected('checkpoint_failed');
        this.logger.error({ err, jobId: job.jobId, epoch, dir }, 'checkpoint failed');
      });
  }

  private takeSnapshot(job: Job, epoch: number): Snapshot {
    const snapshot: Snapshot = {
      version: job.version,
      params: new Map(job.parts.map((p) => [p.info.key, p.params.slice()])),
    };
    job.snapshots.set(epoch, snapshot);
    while (job.snapshots.size > this.maxSnapshots) {
      const oldest = Math.min(...job.snapshots.keys());
      clearTimeout(job.snapshots.get(oldest)?.releaseTimer);
      job.snapshots.delete(oldest);
      this.logger.warn({ jobId: job.jobId, epoch: oldest }, 'dropped an epoch snapshot nobody released');
    }
    for (const w of [...job.snapshotWaiters]) if (w.epoch === epoch) w.resolve(snapshot);
    return snapshot;
  }

  /** Current parameters (epoch 0) or the snapshot at the end of `epoch`, waiting for it up to the deadline. */
  async pull(req: PullRequest__Output, ctx: CallContext): Promise<PullResponse> {
    const job = this.job(req.jobId);
    if (req.epoch === 0) return { version: job.version, params: job.paramTensors };
    let snapshot = job.snapshots.get(req.epoch);
    if (!snapshot) {
      if (job.version >= req.epoch * job.stepsPerEpoch) {
        throw new NotFoundError(
          `snapshot of epoch ${req.epoch} of job ${job.jobId} was released or dropped`,
          { jobId: job.jobId },
        );
      }
      snapshot = await this.waitForSnapshot(job, req.epoch, ctx);
    }
    const res: PullResponse = {
      version: snapshot.version,
      params: encodeParts(job.parts, (p) => snapshot.params.get(p.info.key) as Float32Array),
    };
    if (req.release && !snapshot.releaseTimer) {
      const epoch = req.epoch;
      snapshot.releaseTimer = setTimeout(() => {
        if (job.snapshots.get(epoch) === snapshot) job.snapshots.delete(epoch);
      }, this.releaseGraceMs);
      snapshot.releaseTimer.unref();
    }
    return res;
  }

  private waitForSnapshot(job: Job, epoch: number, ctx: CallContext): Promise<Snapshot> {
    return waitUntilDeadline<Snapshot, SnapshotWaiter>(
      ctx,
      (resolve, reject) => ({ epoch, resolve, reject }),
      (w) => job.snapshotWaiters.add(w),
      (w) => job.snapshotWaiters.delete(w),
      () =>
        new TimeoutError(`snapshot of epoch ${epoch} not ready by the deadline (version ${job.version})`, {
          jobId: job.jobId,
        }),
      () => new AbortedError('call cancelled', { jobId: job.jobId }),
    );
  }

  // ---------------------------------------------------------------------------- SetMembers, EndJob

  /** Sets the live ranks; a pending step whose remaining ranks have all pushed completes at once. */
  setMembers(req: SetMembersRequest__Output): SetMembersResponse {
    const job = this.job(req.jobId);
    if (req.ranks.length === 0) throw new ValidationError('ranks', 'must not be empty');
    const ranks = [...new Set(req.ranks)].sort((a, b) => a - b);
    job.members = ranks;
    const pending = job.pending;
    if (pending) {
      // An evicted rank's slice is re-assigned, so its push (if any) must not count.
      for (const r of [...pending.contributions.keys()])
        if (!ranks.includes(r)) pending.contributions.delete(r);
      for (const w of [...pending.waiters]) {
        if (!ranks.includes(w.rank)) {
          w.reject(
            new StateError(`rank ${w.rank} was evicted from job ${job.jobId}`, {
              jobId: job.jobId,
              step: pending.step,
              field: 'rank',
            }),
          );
        }
      }
      this.maybeComplete(job);
    }
    this.logger.info({ jobId: job.jobId, members: ranks, version: job.version }, 'members set');
    return { version: job.version };
  }

  /** Frees a job; waiting pushes and pulls end with ABORTED. Idempotent. */
  async endJob(req: EndJobRequest__Output): Promise<EndJobResponse> {
    if (!req.jobId) throw new ValidationError('job_id', 'must not be empty');
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

  private abortJob(job: Job, why: string): void {
    const err = new AbortedError(why, { jobId: job.jobId });
    if (job.pending) for (const w of [...job.pending.waiters]) w.reject(err);
    for (const w of [...job.snapshotWaiters]) w.reject(err);
    job.pending = undefined;
    for (const s of job.snapshots.values()) clearTimeout(s.releaseTimer);
    job.snapshots.clear();
    job.parts = [];
    job.trainableParts = [];
    job.stateParts = [];
    job.paramTensors = [];
    job.byKey.clear();
  }

  /** Refuses new work, aborts every waiting call with ABORTED and waits for checkpoint writes. */
  async close(): Promise<void> {
    this.closed = true;
    const jobs = [...this.jobs.values()];
    for (const job of jobs) this.abortJob(job, 'parameter server is shutting down');
    this.jobs.clear();
    await Promise.all(jobs.map((j) => j.checkpointChain));
  }

  private job(jobId: string): Job {
    if (this.closed) throw new AbortedError('parameter server is shutting down');
    if (!jobId) throw new ValidationError('job_id', 'must not be empty');
    const job = this.jobs.get(jobId);
    if (!job)
      throw new NotFoundError(`unknown job ${jobId} on this shard (not initialized, or ended)`, { jobId });
    return job;
  }
}

/** Decodes and checks a push against the job's parts; throws ValidationError naming the field. */
function validatePush(job: Job, req: PushPullRequest__Output): Contribution {
  const ctx = { jobId: job.jobId, step: req.step };
  if (!Number.isSafeInteger(req.step) || req.step < 0)
    throw new ValidationError('step', `must be a non-negative integer, got ${req.step}`, ctx);
  let bytes = 0;
  const read = (
    list: NamedTensor__Output[],
    field: 'grads' | 'states',
    trainable: boolean,
  ): Map<string, Float32Array> => {
    const out = new Map<string, Float32Array>();
    for (let i = 0; i < list.length; i++) {
      const nt = list[i] as NamedTensor__Output;
      const part = job.byKey.get(nt.name);
      if (!part) {
        const owner = job.plan.byKey.get(nt.name);
        const why = owner
          ? `belongs to shard ${owner.shard}, this is shard ${job.shardIndex}`
          : 'is not a part of this job';
        throw new ValidationError(`${field}[${i}].name`, `part "${nt.name}" ${why}`, ctx);
      }
      if (part.info.trainable !== trainable) {
        throw new ValidationError(
          `${field}[${i}].name`,
          `part "${nt.name}" is ${trainable ? 'not trainable (send it in states)' : 'trainable (send it in grads)'}`,
          ctx,
        );
      }
      if (out.has(nt.name))
        throw new ValidationError(`${field}[${i}].name`, `part "${nt.name}" appears twice`, ctx);
      if (!nt.tensor) throw new ValidationError(`${field}[${i}].tensor`, 'is required', ctx);
      // A view of the received message: the PushPull codec puts data where grpc-js's buffer is
      // 4-byte aligned, so nothing is copied (decodeFloat32 realigns otherwise).
      const data = decodeFloat32(nt.tensor, `${field}[${i}].tensor`).data;
      if (data.length !== part.info.length) {
        throw new ValidationError(
          `${field}[${i}].tensor`,
          `part "${nt.name}" has ${part.info.length} elements, got ${data.length}`,
          ctx,
        );
      }
      bytes += data.byteLength;
      out.set(nt.name, data);
    }
    return out;
  };
  const grads = read(req.grads, 'grads', true);
  const states = read(req.states, 'states', false);
  if (req.sampleCount > 0) {
    // A rank with samples must send every part it owns on this shard: a missing part would silently
    // count as a zero gradient.
    for (const key of job.trainableKeys)
      if (!grads.has(key)) throw new ValidationError('grads', `missing part "${key}"`, ctx);
    for (const key of job.stateKeys)
      if (!states.has(key)) throw new ValidationError('states', `missing part "${key}"`, ctx);
  }
  return { sampleCount: req.sampleCount, lossSum: req.lossSum, grads, states, bytes };
}

// Scratch lists of the aggregation loop (the service is single-threaded and the loop synchronous).
const GRADS: Float32Array[] = [];
const STATES: Float32Array[] = [];
const WEIGHTS: number[] = [];

function encodeParts(parts: readonly Part[], pick: (p: Part) => Float32Array): NamedTensor[] {
  return parts.map((p) => {
    const data = pick(p);
    return { name: p.info.key, tensor: encodeTensor(data, [data.length]) };
  });
}

function responseBytes(res: PushPullResponse): number {
  let n = 0;
  for (const p of res.params ?? []) {
    const d = p.tensor?.data;
    if (d && typeof d !== 'string') n += d.byteLength;
  }
  return n;
}

function jobBytes(job: Job): number {
  let n = 0;
  for (const p of job.parts) {
    n += p.params.byteLength;
    for (const s of p.slots) n += s.byteLength;
  }
  for (const s of job.snapshots.values()) for (const a of s.params.values()) n += a.byteLength;
  return n;
}

function fingerprintOf(req: InitJobRequest__Output): string {
  const picked: Record<string, unknown> = {};
  for (const k of FINGERPRINT_FIELDS) picked[k] = req[k];
  return JSON.stringify(picked);
}

function reasonOf(code: GrpcStatus): string {
  const name = (GrpcStatus as unknown as Record<number, string>)[code];
  return (name ?? 'unknown').toLowerCase();
}
