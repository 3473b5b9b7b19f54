import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { doomedCheckpoints, listCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { ShardCheckpoint } from './checkpoint.ts';

/** A checkpoint a store holds, by version. */
export interface StoredCheckpoint {
  version: number;
  /** The epoch it ends, when it is an epoch checkpoint. */
  epochEnd: number | undefined;
}

/**
 * Durable storage of one job's checkpoints on one shard: a folder (a volume) or an object store
 * (JetStream Object Store, `@distrain/core/events`). A shard writes to every store it has and reads
 * from the first that holds what it needs.
 */
export interface CheckpointStore {
  /** Where, for logs and errors (a folder path, or `bucket/prefix`). */
  readonly location: string;
  /** Writes a checkpoint atomically (a reader never sees half of one). Returns where it went. */
  write(ckpt: ShardCheckpoint): Promise<string>;
  /** The checkpoints held, oldest version first. */
  list(): Promise<StoredCheckpoint[]>;
  /** The checkpoint at `version`, or undefined when it is not held. */
  read(version: number): Promise<ShardCheckpoint | undefined>;
  /** Deletes all but the newest `keep` checkpoints and the newest `keepEpochs` epoch checkpoints. */
  prune(keep: number, keepEpochs: number): Promise<void>;
  /** Deletes the checkpoints newer than `version` (a rollback abandoned them). */
  discardAfter(version: number): Promise<void>;
}

/** Checkpoints as files in a folder (`v<version>[-epoch<e>].ckpt`, see `checkpoint.ts`). */
export class DirCheckpointStore implements CheckpointStore {
  constructor(readonly location: string) {}

  write(ckpt: ShardCheckpoint): Promise<string> {
    return writeCheckpoint(this.location, ckpt);
  }

  async list(): Promise<StoredCheckpoint[]> {
    return (await listCheckpoints(this.location)).map(({ version, epochEnd }) => ({ version, epochEnd }));
  }

  async read(version: number): Promise<ShardCheckpoint | undefined> {
    const entry = (await listCheckpoints(this.location)).find((e) => e.version === version);
    return entry ? readCheckpoint(entry.path) : undefined;
  }

  async prune(keep: number, keepEpochs: number): Promise<void> {
    const entries = await listCheckpoints(this.location);
    await Promise.all(doomedCheckpoints(entries, keep, keepEpochs).map((e) => rm(e.path, { force: true })));
  }

  async discardAfter(version: number): Promise<void> {
    const entries = await listCheckpoints(this.location);
    await Promise.all(entries.filter((e) => e.version > version).map((e) => rm(e.path, { force: true })));
  }
}

/** The folder of one job's checkpoints on one shard under a shard's checkpoint root. */
export function shardCheckpointDir(root: string, jobId: string, shardIndex: number): string {
  return join(root, jobId, `shard-${shardIndex}`);
}
