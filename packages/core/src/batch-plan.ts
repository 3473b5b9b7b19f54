import { ValidationError } from './errors.ts';
import { permutation, Rng } from './rng.ts';

/**
 * The order of samples of one epoch of one split: a seeded permutation of the train split (a new one
 * per epoch), the identity for the test split. Depends only on (seed, epoch, split), never on the
 * number of trainers, so 1 or 4 trainers see the same global batches.
 */
export function epochOrder(count: number, split: 'train' | 'test', seed: number, epoch: number): Uint32Array {
  if (split === 'test') {
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    return order;
  }
  return permutation(count, new Rng(seed, epoch));
}

/** Global batches per epoch: every sample once, the last batch may be short. */
export function stepsPerEpoch(count: number, globalBatchSize: number): number {
  return Math.ceil(count / globalBatchSize);
}

/** Position of rank `rank`'s contiguous slice inside a global batch of `batchSize` samples. */
export function rankSlice(
  batchSize: number,
  rank: number,
  worldSize: number,
): { offset: number; count: number } {
  const start = Math.floor((batchSize * rank) / worldSize);
  const end = Math.floor((batchSize * (rank + 1)) / worldSize);
  return { offset: start, count: end - start };
}

/** Checks the batch geometry of a request; throws a ValidationError naming the field. */
export function validateBatchGeometry(g: {
  count: number;
  globalBatchSize: number;
  rank: number;
  worldSize: number;
  startStep: number;
  endStep: number;
}): void {
  if (g.worldSize < 1) throw new ValidationError('world_size', 'must be at least 1');
  if (g.rank >= g.worldSize) {
    throw new ValidationError(
      'rank',
      `is ${g.rank} but world_size is ${g.worldSize}; ranks are 0..${g.worldSize - 1}`,
    );
  }
  if (g.globalBatchSize < 1) throw new ValidationError('global_batch_size', 'must be at least 1');
  if (g.globalBatchSize > g.count) {
    throw new ValidationError(
      'global_batch_size',
      `is ${g.globalBatchSize} but the split has only ${g.count} samples; use at most ${g.count}`,
    );
  }
  const steps = stepsPerEpoch(g.count, g.globalBatchSize);
  if (g.startStep >= steps) {
    throw new ValidationError(
      'start_step',
      `is ${g.startStep} but the epoch has ${steps} steps (0..${steps - 1})`,
    );
  }
  if (g.endStep !== 0 && (g.endStep <= g.startStep || g.endStep > steps)) {
    throw new ValidationError('end_step', `must be 0 (end of epoch) or in ${g.startStep + 1}..${steps}`);
  }
}
