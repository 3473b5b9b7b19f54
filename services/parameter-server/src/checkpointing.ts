import { StateError } from '@distrain/core';
import {
  latestCheckpoint,
  pruneCheckpoints,
  readCheckpoint,
  slotName,
  slotSuffixes,
  writeCheckpoint,
} from '@distrain/core/ps';
import type { Logger } from '@distrain/core';
import type { PsObserver } from '@distrain/core/ps';
import type { ShardJob } from './shard-job.ts';
import type { Snapshot } from './snapshots.ts';

/**
 * Loads the newest checkpoint of the job's folder into its parameters and slots. Returns the
 * checkpoint's version and epoch, or undefined when the folder holds none.
 */
export async function loadLatestCheckpoint(
  job: ShardJob,
): Promise<{ version: number; epoch: number; path: string } | undefined> {
  const dir = job.checkpointDir;
  if (!dir) return undefined;
  const path = await latestCheckpoint(dir);
  if (!path) return undefined;
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
  return { version: ckpt.version, epoch: ckpt.epoch, path };
}

/**
 * Queues the checkpoint of `epoch` on the job's write chain: parameters from `snapshot` (already
 * copies) and copies of the optimizer slots, so the next step need not wait for the disk. A failed
 * write is logged and counted, never thrown.
 */
export function queueCheckpoint(
  job: ShardJob,
  snapshot: Snapshot,
  epoch: number,
  options: { keep: number; logger: Logger; observer: PsObserver },
): void {
  const dir = job.checkpointDir;
  if (!dir) return;
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
  job.checkpointChain = job.checkpointChain
    .then(async () => {
      const path = await writeCheckpoint(dir, ckpt);
      await pruneCheckpoints(dir, options.keep);
      options.logger.info({ jobId: job.jobId, epoch, path }, 'checkpoint written');
    })
    .catch((err: unknown) => {
      options.observer.onRejected('checkpoint_failed');
      options.logger.error({ err, jobId: job.jobId, epoch, dir }, 'checkpoint failed');
    });
}
