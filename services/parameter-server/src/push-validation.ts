import { ValidationError, decodeFloat32 } from '@distrain/core';
import type { NamedTensor__Output } from '@distrain/core';
import type { PartPlan, PushPullRequest__Output } from '@distrain/core/ps';
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
}

/** Decodes and checks a push against the job's parts; throws ValidationError naming the field. */
export function validatePush(job: PushTarget, req: PushPullRequest__Output): Contribution {
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
      // A view of the received message: the PushPull codec puts data where the buffer is 4-byte
      // aligned, so nothing is copied (decodeFloat32 realigns otherwise).
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
