// Over 400 lines: InitJob validation, the parts' layout in the optimizer arena and the step's aggregation all build or read the one job record.
import {
  LIMITS,
  OverloadError,
  ValidationError,
  checkId,
  checkInt,
  checkList,
  decodeFloat32,
  encodeTensor,
} from '@distrain/core';
import {
  DEFAULT_MAX_PART_BYTES,
  OptimizerArena,
  StepPolicy,
  applyGradients,
  clipFactor,
  averageStates,
  initialValues,
  optimizerFromSpec,
  partitionPlan,
  slotSuffixes,
  variableFromSpec,
} from '@distrain/core/ps';
import type { NamedTensor, VariableInfo } from '@distrain/core';
import type {
  CheckpointStore,
  InitJobRequest__Output,
  OptimizerSettings,
  PartInfo,
  PartPlan,
  PushPullResponse,
} from '@distrain/core/ps';
import { StepBarrier } from './barrier.ts';
import { NormExchange } from './norm-exchange.ts';
import type { Contribution } from './push-validation.ts';
import { SnapshotStore } from './snapshots.ts';
import type { SnapshotStoreOptions } from './snapshots.ts';

/** One part of the plan held by this shard: live parameters and optimizer slots. */
export interface Part {
  info: PartInfo;
  params: Float32Array;
  /** Optimizer slots in slotSuffixes order (empty for state parts). */
  slots: Float32Array[];
  /**
   * Per rank slot (rank r uses slot r; jobs of at most 2 ranks with an arena), where a counted push's
   * gradient is copied and checked for non-finite values, then read by the optimizer kernel in place.
   */
  staged: Float32Array[];
}

/** The record of one job on one shard. */
export interface ShardJob {
  jobId: string;
  fingerprint: string;
  shardIndex: number;
  shardCount: number;
  /** Ranks are `0 .. worldSize - 1`. */
  worldSize: number;
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
  /** Learning rate and weight decay per update and variable (schedule, decay scope). */
  policy: StepPolicy;
  /** Cross-shard gradient norms; set when optimizer.clipNorm > 0. */
  norms: NormExchange | undefined;
  stepsPerEpoch: number;
  resumedEpochs: number;
  /** Version of the checkpoint this record was loaded from (0: none). */
  restoredVersion: number;
  /** The step barrier; its `version` is the job's parameter version. */
  barrier: StepBarrier<Contribution, PushPullResponse>;
  lastMeanLoss: number;
  lastRanks: number;
  snapshots: SnapshotStore;
  /** Where checkpoints go (a folder, an object store); empty: none. */
  checkpointStores: CheckpointStore[];
  /** A checkpoint every this many applied steps besides epoch ends; 0: epoch ends only. */
  checkpointEverySteps: number;
  checkpointChain: Promise<void>;
  /** Checkpoints queued and not yet written. */
  checkpointsInFlight: number;
  /** The newest written checkpoint and what it cost (copy on the step path, write in the background). */
  lastCheckpoint: { version: number; copyMs: number; writeMs: number } | undefined;
  /** The WebAssembly memory of the trainable parts (undefined: a job too large for wasm32). */
  arena: OptimizerArena | undefined;
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

/** What makes two InitJob requests the same job. */
export function fingerprintOf(req: InitJobRequest__Output): string {
  const picked: Record<string, unknown> = {};
  for (const k of FINGERPRINT_FIELDS) picked[k] = req[k];
  return JSON.stringify(picked);
}

/**
 * Validates an InitJob request and builds the job's record with fresh initial values (version 0).
 * `onComplete` is the barrier's step completion (aggregate, then the service's bookkeeping), `norm`
 * the global gradient norm of the step's mean gradient (NaN when clipping is off); `normDeadlineMs`
 * is how long a step waits for the other shards' gradient norms.
 */
export function createShardJob(
  req: InitJobRequest__Output,
  options: {
    /** The shard index this process is pinned to, if any. */
    shardIndex?: number;
    snapshots: SnapshotStoreOptions;
    /** The job's checkpoint stores (from its `checkpoint_dir` or the shard's own). */
    checkpointStores: CheckpointStore[];
    onComplete(
      job: ShardJob,
      ordered: Contribution[],
      version: number,
      waiting: number,
      norm: number,
    ): PushPullResponse;
    normDeadlineMs: () => number;
    /** Bytes this job may still take on this shard (parameters and optimizer slots). @default no limit */
    budgetBytes?: number;
  },
): ShardJob {
  checkId('job_id', req.jobId);
  if (req.variables.length === 0) throw new ValidationError('variables', 'must not be empty');
  checkList('variables', req.variables);
  checkList('initial_values', req.initialValues ?? []);
  checkList('shard_addresses', req.shardAddresses, LIMITS.maxShards);
  // Bounds before anything is allocated: a world size of 2^32 or a 2^40-element variable must be a
  // clear INVALID_ARGUMENT, not a heap out-of-memory abort.
  checkInt('world_size', req.worldSize, 1, LIMITS.maxWorldSize, 'trainers of the job');
  checkInt('steps_per_epoch', req.stepsPerEpoch, 1, LIMITS.maxStepsPerEpoch);
  checkInt('shard_count', req.shardCount, 1, LIMITS.maxShards);
  let elements = 0;
  for (const [i, v] of req.variables.entries()) {
    checkId(`variables[${i}].name`, v.name);
    checkList(`variables[${i}].shape`, v.shape, 8);
    const n = v.shape.reduce((a, b) => a * b, 1);
    elements += n;
    if (!(elements <= LIMITS.maxParameterElements))
      throw new ValidationError(
        `variables[${i}].shape`,
        `the job's variables exceed ${LIMITS.maxParameterElements} elements (a parameter server's budget per job)`,
      );
  }
  const variables = req.variables.map((v, i) => variableFromSpec(v, i));
  const optimizer = optimizerFromSpec(req.optimizer);
  // Upper bound of what the job allocates here (every part on this shard: live values, slots, and
  // in jobs of 1-2 ranks a staged gradient per rank).
  const needBytes =
    elements * 4 * (1 + slotSuffixes(optimizer.type).length + (req.worldSize <= 2 ? req.worldSize : 0));
  if (options.budgetBytes !== undefined && needBytes > options.budgetBytes)
    throw new OverloadError(
      `job ${req.jobId} needs up to ${needBytes} bytes on this shard, ${Math.max(0, options.budgetBytes)} are left (--max-held-bytes); end other jobs, add shards or raise the limit`,
      { jobId: req.jobId },
    );
  if (req.shardIndex >= req.shardCount) {
    throw new ValidationError(
      'shard_index',
      `must be below shard_count ${req.shardCount}, got ${req.shardIndex}`,
    );
  }
  if (options.shardIndex !== undefined && req.shardIndex !== options.shardIndex) {
    throw new ValidationError(
      'shard_index',
      `this is shard ${options.shardIndex}, the request is for shard ${req.shardIndex}`,
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
  // Whole-variable initial values (pretrained embeddings) replace the seeded initializer.
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
  // Parameters and slots of the trainable parts live in one WebAssembly memory, where the optimizer
  // kernel updates them in place (a job too large for wasm32 keeps plain arrays and the JS loops).
  const slotCount = slotSuffixes(optimizer.type).length;
  // Gradients of jobs of one or two ranks are staged per rank (more ranks take the JS block loops).
  const stagedRanks = req.worldSize <= 2 ? req.worldSize : 0;
  let arenaElements = 0;
  let arenaArrays = 0;
  let largest = 0;
  for (const info of mine) {
    if (!info.trainable) continue;
    arenaElements += info.length * (1 + slotCount + stagedRanks);
    arenaArrays += 1 + slotCount + stagedRanks;
    largest = Math.max(largest, info.length);
  }
  const arena = arenaArrays > 0 ? OptimizerArena.create(arenaElements, arenaArrays, largest) : undefined;
  const array = (n: number, trainable: boolean): Float32Array =>
    trainable && arena ? arena.alloc(n) : new Float32Array(n);
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
    const params = array(info.length, info.trainable);
    params.set((values as Float32Array).subarray(info.offset, info.offset + info.length));
    parts.push({
      info,
      params,
      slots: info.trainable ? slotSuffixes(optimizer.type).map(() => array(info.length, true)) : [],
      staged:
        info.trainable && arena ? Array.from({ length: stagedRanks }, () => arena.alloc(info.length)) : [],
    });
  }
  const job: ShardJob = {
    jobId: req.jobId,
    fingerprint: fingerprintOf(req),
    shardIndex: req.shardIndex,
    shardCount: req.shardCount,
    worldSize: req.worldSize,
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
    policy: new StepPolicy(optimizer),
    norms:
      optimizer.clipNorm > 0
        ? new NormExchange(req.jobId, plan, req.shardIndex, req.shardAddresses)
        : undefined,
    stepsPerEpoch: req.stepsPerEpoch,
    resumedEpochs: 0,
    restoredVersion: 0,
    barrier: undefined as unknown as ShardJob['barrier'],
    lastMeanLoss: 0,
    lastRanks: 0,
    snapshots: new SnapshotStore(req.jobId, options.snapshots),
    checkpointStores: options.checkpointStores,
    checkpointEverySteps: req.checkpointEverySteps ?? 0,
    checkpointChain: Promise.resolve(),
    checkpointsInFlight: 0,
    lastCheckpoint: undefined,
    arena,
  };
  job.barrier = new StepBarrier<Contribution, PushPullResponse>(req.jobId, req.worldSize, {
    prepare: (ordered, step) => prepareStep(job, ordered, step, options.normDeadlineMs()),
    complete: (ordered, version, waiting, norm) => options.onComplete(job, ordered, version, waiting, norm),
    current: () => currentResponse(job),
  });
  return job;
}

// Scratch lists of the aggregation loop (the service is single-threaded and the loop synchronous).
const GRADS: Float32Array[] = [];
const STATES: Float32Array[] = [];
const WEIGHTS: number[] = [];

/**
 * Before a step is applied: with clipping, the global norm of its mean gradient over every shard's
 * parts (exchanged with the other shards, `ShareNorms`); NaN without clipping or samples.
 */
function prepareStep(
  job: ShardJob,
  ordered: readonly Contribution[],
  step: number,
  deadlineMs: number,
): number | Promise<number> {
  const norms = job.norms;
  let total = 0;
  for (const c of ordered) total += c.sampleCount;
  if (total === 0 || norms === undefined) return Number.NaN;
  const mine = NormExchange.partials(
    job.trainableParts,
    (key) => ordered.flatMap((c) => c.grads.get(key) ?? []),
    1 / total,
  );
  if (job.shardCount === 1) return norms.normOf(new Map([[0, mine]]));
  return norms.exchange(step, mine, deadlineMs);
}

/** What {@link aggregate} did. */
export interface AggregateResult {
  bytesIn: number;
  /** The update's scheduled learning rate. */
  learningRate: number;
  /** Whether the mean gradient was scaled down (clipping). */
  clipped: boolean;
}

/**
 * Sums the contributions (in the given rank order), divides by the total sample count (times the
 * clip factor of `norm`; NaN: no clipping), applies the optimizer at step `t` with the update's
 * scheduled learning rate and weight-decay scope, and averages the state parts by sample count.
 */
export function aggregate(
  job: ShardJob,
  ordered: readonly Contribution[],
  t: number,
  norm = Number.NaN,
): AggregateResult {
  let total = 0;
  let lossSum = 0;
  let bytesIn = 0;
  for (const c of ordered) {
    total += c.sampleCount;
    lossSum += c.lossSum;
    bytesIn += c.bytes;
  }
  // Update t (1-based) turns version t - 1 into t.
  const learningRate = job.policy.begin(t - 1);
  const factor = clipFactor(norm, job.optimizer.clipNorm);
  if (total > 0) {
    const scale = factor / total;
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
      applyGradients(job.policy.settingsFor(part.info.variable), part.params, part.slots, grads, scale, t);
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
  job.lastMeanLoss = total > 0 ? lossSum / total : 0;
  job.lastRanks = ordered.length;
  return { bytesIn, learningRate, clipped: factor < 1 };
}

/** The answer to a push: this shard's live parameters at the current version. */
export function currentResponse(job: ShardJob): PushPullResponse {
  return {
    version: job.barrier.version,
    params: job.paramTensors,
    meanLoss: job.lastMeanLoss,
    ranks: job.lastRanks,
  };
}

/** Wire tensors of every part, viewing the arrays `pick` returns (no copy). */
export function encodeParts(parts: readonly Part[], pick: (p: Part) => Float32Array): NamedTensor[] {
  return parts.map((p) => {
    const data = pick(p);
    return { name: p.info.key, tensor: encodeTensor(data, [data.length]) };
  });
}

/** Parameter bytes in a response. */
export function responseBytes(res: PushPullResponse): number {
  let n = 0;
  for (const p of res.params ?? []) {
    const d = p.tensor?.data;
    if (d && typeof d !== 'string') n += d.byteLength;
  }
  return n;
}

/** Bytes of parameters, slots, staged gradients and snapshots a job holds. */
export function jobBytes(job: ShardJob): number {
  let n = 0;
  for (const p of job.parts) {
    n += p.params.byteLength;
    for (const s of p.slots) n += s.byteLength;
    for (const s of p.staged) n += s.byteLength;
  }
  return n + job.snapshots.bytes();
}

/** Drops a job's arrays (after its waiters were failed). */
export function clearJob(job: ShardJob): void {
  job.norms?.close();
  job.parts = [];
  job.trainableParts = [];
  job.stateParts = [];
  job.paramTensors = [];
  job.byKey.clear();
}
