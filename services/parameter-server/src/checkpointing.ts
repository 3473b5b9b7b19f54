import { StateError } from '@distrain/core';
import { slotName, slotSuffixes } from '@distrain/core/ps';
import type { Logger } from '@distrain/core';
import type { PsObserver, ShardCheckpoint } from '@distrain/core/ps';
import type { ShardJob } from './shard-job.ts';

/** Where a loaded checkpoint came from. */
export interface LoadedCheckpoint {
  version: number;
  epoch: number;
  location: string;
}

/**
 * The checkpoint at `version` (undefined: the newest) from the first of the job's stores that holds
 * it; undefined when none does.
 */
async function findCheckpoint(
  job: ShardJob,
  version: number | undefined,
): Promise<{ ckpt: ShardCheckpoint; location: string } | undefined> {
  let best: { version: number; store: number } | undefined;
  for (let i = 0; i < job.checkpointStores.length; i++) {
    const store = job.checkpointStores[i] as ShardJob['checkpointStores'][number];
    let held;
    try {
      held = await store.list();
    } catch {
      continue; // an unreachable store: another may hold it
    }
    for (const c of held) {
      if (version !== undefined && c.version !== version) continue;
      if (best === undefined || c.version > best.version) best = { version: c.version, store: i };
    }
  }
  if (!best) return undefined;
  const store = job.checkpointStores[best.store] as ShardJob['checkpointStores'][number];
  const ckpt = await store.read(best.version);
  return ckpt ? { ckpt, location: store.location } : undefined;
}

/** The versions of the checkpoints any of the job's stores holds, oldest first. */
export async function checkpointVersions(job: ShardJob): Promise<number[]> {
  const versions = new Set<number>();
  for (const store of job.checkpointStores) {
    try {
      for (const c of await store.list()) versions.add(c.version);
    } catch {
      // an unreachable store holds nothing we can load now
    }
  }
  return [...versions].sort((a, b) => a - b);
}

/**
 * Loads the job's newest checkpoint (or the one at exactly `version`) into its parameters and slots.
 * Returns what was loaded, or undefined when no store holds one.
 */
export async function loadCheckpoint(job: ShardJob, version?: number): Promise<LoadedCheckpoint | undefined> {
  const found = await findCheckpoint(job, version);
  if (!found) return undefined;
  const { ckpt, location } = found;
  const ctx = { jobId: job.jobId, file: location };
  if (ckpt.jobId !== job.jobId || ckpt.shardCount !== job.shardCount || ckpt.shardIndex !== job.shardIndex) {
    throw new StateError(
      `checkpoint in ${location} belongs to job ${ckpt.jobId} shard ${ckpt.shardIndex} of ${ckpt.shardCount}, not ${job.jobId} shard ${job.shardIndex} of ${job.shardCount}`,
      ctx,
    );
  }
  if (ckpt.optimizer !== job.optimizer.type) {
    throw new StateError(
      `checkpoint in ${location} holds ${ckpt.optimizer} slots, the job uses ${job.optimizer.type}`,
      ctx,
    );
  }
  const suffixes = slotSuffixes(job.optimizer.type);
  const take = (name: string, into: Float32Array): void => {
    const data = ckpt.tensors.get(name);
    if (!data || data.length !== into.length) {
      throw new StateError(
        `checkpoint in ${location} has no tensor ${name} of ${into.length} elements (another model?)`,
        ctx,
      );
    }
    into.set(data);
  };
  for (const part of job.parts) {
    take(part.info.key, part.params);
    part.slots.forEach((slot, i) => take(slotName(part.info.key, suffixes[i] as string), slot));
  }
  return { version: ckpt.version, epoch: ckpt.epoch, location };
}

/**
 * The parameters of the epoch checkpoint of `epoch` (what the evaluator's snapshot held), or
 * undefined when no store holds it.
 */
export async function epochCheckpointParams(
  job: ShardJob,
  epoch: number,
): Promise<{ version: number; params: Map<string, Float32Array> } | undefined> {
  const found = await findCheckpoint(job, epoch * job.stepsPerEpoch);
  if (!found || found.ckpt.shardIndex !== job.shardIndex || found.ckpt.jobId !== job.jobId) return undefined;
  const params = new Map<string, Float32Array>();
  for (const part of job.parts) {
    const data = found.ckpt.tensors.get(part.info.key);
    if (!data || data.length !== part.params.length) return undefined;
    params.set(part.info.key, data);
  }
  return { version: found.ckpt.version, params };
}

/** Options of {@link queueCheckpoint}. */
export interface CheckpointWriteOptions {
  /** Newest checkpoints kept per store. */
  keep: number;
  /** Newest epoch checkpoints kept per store besides those. */
  keepEpochs: number;
  logger: Logger;
  observer: PsObserver;
}

/**
 * Queues a checkpoint of the job at its current version on the job's write chain, from copies (the
 * snapshot's parameters at an epoch end, else fresh copies; copies of the slots), so the next step
 * need not wait for the disk or the network. A step checkpoint due while two writes are still in
 * flight is skipped (counted), so a slow store never piles copies up in memory; an epoch checkpoint
 * always queues. (The coordinator rolls shards back to a version they all hold, so a skip costs
 * redone steps, not consistency.) A failed write is logged and counted, never thrown.
 */
export function queueCheckpoint(
  job: ShardJob,
  epoch: number,
  epochEnd: boolean,
  params: Map<string, Float32Array> | undefined,
  options: CheckpointWriteOptions,
): void {
  if (job.checkpointStores.length === 0) return;
  if (!epochEnd && job.checkpointsInFlight >= 2) {
    options.observer.onRejected('checkpoint_skipped');
    return;
  }
  const t0 = performance.now();
  const suffixes = slotSuffixes(job.optimizer.type);
  const tensors = new Map<string, Float32Array>();
  // Fixed order (part, then its slots) so a checkpoint's layout depends only on the plan.
  for (const part of job.parts) {
    tensors.set(part.info.key, params?.get(part.info.key) ?? part.params.slice());
    part.slots.forEach((slot, i) =>
      tensors.set(slotName(part.info.key, suffixes[i] as string), slot.slice()),
    );
  }
  const copyMs = performance.now() - t0;
  const ckpt: ShardCheckpoint = {
    jobId: job.jobId,
    shardIndex: job.shardIndex,
    shardCount: job.shardCount,
    version: job.barrier.version,
    epoch,
    epochEnd,
    optimizer: job.optimizer.type,
    tensors,
  };
  job.checkpointsInFlight++;
  job.checkpointChain = job.checkpointChain
    .then(async () => {
      const w0 = performance.now();
      const where = await Promise.all(
        job.checkpointStores.map(async (store) => {
          const at = await store.write(ckpt);
          await store.prune(options.keep, options.keepEpochs);
          return at;
        }),
      );
      const writeMs = performance.now() - w0;
      job.lastCheckpoint = { version: ckpt.version, copyMs, writeMs };
      options.logger.info(
        { jobId: job.jobId, version: ckpt.version, epoch, epochEnd, where, copyMs, writeMs },
        'checkpoint written',
      );
    })
    .catch((err: unknown) => {
      options.observer.onRejected('checkpoint_failed');
      options.logger.error({ err, jobId: job.jobId, version: ckpt.version }, 'checkpoint failed');
    })
    .finally(() => {
      job.checkpointsInFlight--;
    });
}
