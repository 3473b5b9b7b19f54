import { LIMITS, ValidationError, clip, decodeFloat32, firstNonFinite } from '@distrain/core';
import type { NamedTensor__Output } from '@distrain/core';
import type { OptimizerArena, PartPlan, PushPullRequest__Output } from '@distrain/core/ps';
import type { Part } from './shard-job.ts';

/** A rank's decoded push: views of the received message, never copies. */
export interface Contribution {
  sampleCount: number;
  lossSum: number;
  grads: Map<string, Float32Array>;
  states: Map<string, Float32Array>;
  bytes: number;
}

/** What push validation needs to know of the job. */
export interface PushTarget {
  jobId: string;
  shardIndex: number;
  plan: PartPlan;
  byKey: ReadonlyMap<string, Part>;
  trainableKeys: readonly string[];
  stateKeys: readonly string[];
  /** Ranks are `0 .. worldSize - 1`. */
  worldSize: number;
  /** The memory of the parts' staged gradients (`Part.staged`); without it nothing is staged. */
  arena?: OptimizerArena | undefined;
  /** Whether a push of `rank` for `step` will be counted (only those are staged). */
  barrier?: { counts(rank: number, step: number): boolean };
}

/**
 * Decodes and checks a push against the job's parts; throws ValidationError naming the field, with
 * the rejection reason (`distrain_ps_rejected_total{reason}`): `rank`, `step`, `sample_count`, `size`
 * (too many tensors), `shape` (unknown, misplaced or missing part, wrong element count or dtype),
 * `non_finite` (a NaN or infinite gradient, state or loss value: nothing of the push is applied).
 */

export function validatePush(job: PushTarget, req: PushPullRequest__Output): Contribution {
  const ctx = { jobId: job.jobId, step: req.step };
  const fail = (field: string, message: string, reason: string): never => {
    throw new ValidationError(field, message, { ...ctx, reason });
  };
  if (!Number.isSafeInteger(req.step) || req.step < 0 || req.step > LIMITS.maxSteps)
    fail('step', `must be an integer between 0 and ${LIMITS.maxSteps}, got ${clip(req.step)}`, 'step');
  if (!Number.isInteger(req.rank) || req.rank < 0 || req.rank >= job.worldSize)
    fail('rank', `must be below the job's world size ${job.worldSize}, got ${clip(req.rank)}`, 'rank');
  if (!Number.isInteger(req.sampleCount) || req.sampleCount < 0 || req.sampleCount > LIMITS.maxSampleCount)
    fail(
      'sample_count',
      `must be an integer between 0 and ${LIMITS.maxSampleCount}, got ${clip(req.sampleCount)}`,
      'sample_count',
    );
  if (!Number.isFinite(req.lossSum))
    fail('loss_sum', `must be finite, got ${req.lossSum} (the trainer's loss diverged)`, 'non_finite');
  const maxParts = job.trainableKeys.length + job.stateKeys.length;
  if (req.grads.length + req.states.length > maxParts)
    fail(
      'grads',
      `this shard holds ${maxParts} parts of the job, the push has ${req.grads.length + req.states.length} tensors`,
      'size',
    );
  let bytes = 0;
  // A push the barrier will count is copied into its rank's staging arrays in the optimizer's memory
  // and checked there (one SIMD pass over the copy); the kernel then reads the copy in place. Others
  // (retries, pushes of applied steps) keep views of the message, checked in JS.
  const arena = job.arena;
  const stage = arena !== undefined && job.barrier?.counts(req.rank, req.step) === true;
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
        fail(`${field}[${i}].name`, `part "${clip(nt.name)}" ${why}`, 'shape');
      }
      if (!part) continue; // unreachable: fail() threw
      if (part.info.trainable !== trainable) {
        fail(
          `${field}[${i}].name`,
          `part "${nt.name}" is ${trainable ? 'not trainable (send it in states)' : 'trainable (send it in grads)'}`,
          'shape',
        );
      }
      if (out.has(nt.name)) fail(`${field}[${i}].name`, `part "${nt.name}" appears twice`, 'shape');
      if (!nt.tensor) return fail(`${field}[${i}].tensor`, 'is required', 'shape');
      // A view of the received message: a ZeroMQ data frame is a buffer of its own and the PushPull
      // codec puts inline data where the buffer is 4-byte aligned, so nothing is copied (decodeFloat32
      // realigns otherwise). A counted push lands in its staging arrays: there even unaligned bytes are
      // copied straight in, never realigned first.
      const staged = stage && trainable ? part.staged[req.rank] : undefined;
      let data: Float32Array;
      try {
        data =
          staged !== undefined && unalignedFloat32(nt.tensor, staged.length)
            ? copyBytes(nt.tensor.data as Uint8Array, staged)
            : decodeFloat32(nt.tensor, `${field}[${i}].tensor`).data;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        return fail(err.field ?? `${field}[${i}].tensor`, err.message.replace(/^[^:]*: /, ''), 'shape');
      }
      if (data.length !== part.info.length) {
        fail(
          `${field}[${i}].tensor`,
          `part "${nt.name}" has ${part.info.length} elements, got ${data.length}`,
          'shape',
        );
      }
      // A NaN or infinite value would poison every parameter of the job at the next update.
      let bad = -1;
      if (staged !== undefined && arena !== undefined) {
        if (data !== staged) staged.set(data);
        if (arena.hasNonFinite(staged)) bad = firstNonFinite(data);
        data = staged;
      } else bad = firstNonFinite(data);
      if (bad >= 0) {
        fail(
          `${field}[${i}].tensor`,
          `part "${nt.name}" has a non-finite value (${data[bad]}) at element ${bad}; nothing of this push was applied`,
          'non_finite',
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
    for (const key of job.trainableKeys) if (!grads.has(key)) fail('grads', `missing part "${key}"`, 'shape');
    for (const key of job.stateKeys) if (!states.has(key)) fail('states', `missing part "${key}"`, 'shape');
  }
  return { sampleCount: req.sampleCount, lossSum: req.lossSum, grads, states, bytes };
}

/**
 * Whether `t` is float32 data of exactly `length` elements at a byte offset that is not a multiple of
 * 4 (decodeFloat32 would copy it to realign; a staged push copies the bytes once instead). Anything
 * else, bad input included, takes decodeFloat32 and its errors.
 */
function unalignedFloat32(t: NonNullable<NamedTensor__Output['tensor']>, length: number): boolean {
  const d = t.data as unknown;
  if (!(d instanceof Uint8Array) || (d.byteOffset & 3) === 0 || d.byteLength !== length * 4) return false;
  if (t.dtype !== 'DTYPE_FLOAT32' && (t.dtype as unknown) !== 1) return false;
  let n = 1;
  for (const x of t.shape ?? []) {
    const dim = Number(x);
    if (!(Number.isInteger(dim) && dim >= 0)) return false;
    n *= dim;
  }
  return n === length;
}

/** Copies `bytes` into `into` (same byte length) and returns `into`. */
function copyBytes(bytes: Uint8Array, into: Float32Array): Float32Array {
  new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(bytes);
  return into;
}
