import { StorageType, connect } from 'nats';
import type { NatsConnection, ObjectStore } from 'nats';
import {
  checkpointFileName,
  decodeCheckpoint,
  doomedCheckpoints,
  encodeCheckpoint as encodeChunks,
  parseCheckpointName,
} from '../ps/checkpoint.ts';
import type { ShardCheckpoint } from '../ps/checkpoint.ts';
import type { CheckpointStore, StoredCheckpoint } from '../ps/checkpoint-store.ts';

/** Default JetStream Object Store bucket of parameter-server checkpoints. */
export const CHECKPOINT_BUCKET = 'distrain-checkpoints';

/** A connection to the checkpoint bucket, shared by the stores of every job of a shard. */
export interface CheckpointBucket {
  readonly name: string;
  readonly os: ObjectStore;
  close(): Promise<void>;
}

/** Connects to NATS (`url`: one or more `host:port`, comma separated) and opens (creates) the bucket. */
export async function openCheckpointBucket(
  url: string,
  options: { bucket?: string; name?: string; connectTimeoutMs?: number } = {},
): Promise<CheckpointBucket> {
  const nc: NatsConnection = await connect({
    servers: url.split(',').map((s) => s.trim().replace(/^nats:\/\//, '')),
    name: options.name ?? 'distrain-parameter-server',
    timeout: options.connectTimeoutMs ?? 30_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  try {
    const name = options.bucket ?? CHECKPOINT_BUCKET;
    const os = await nc.jetstream().views.os(name, { storage: StorageType.File });
    return { name, os, close: () => nc.close() };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

/**
 * One job's checkpoints on one shard as objects `<job id>/shard-<i>/v<version>[-epoch<e>].ckpt` of a
 * JetStream Object Store bucket (the file format of `checkpoint.ts`), so a shard restarted on another
 * node (an empty volume) finds them.
 */
export class NatsCheckpointStore implements CheckpointStore {
  readonly location: string;
  private readonly prefix: string;

  constructor(
    private readonly bucket: CheckpointBucket,
    jobId: string,
    shardIndex: number,
  ) {
    this.prefix = `${jobId}/shard-${shardIndex}/`;
    this.location = `nats object store ${bucket.name}/${this.prefix}`;
  }

  async write(ckpt: ShardCheckpoint): Promise<string> {
    const name = this.prefix + checkpointFileName(ckpt.version, ckpt.epochEnd ? ckpt.epoch : undefined);
    await this.bucket.os.putBlob({ name }, Buffer.concat(encodeChunks(ckpt)));
    return `${this.bucket.name}/${name}`;
  }

  async list(): Promise<StoredCheckpoint[]> {
    return (await this.entries()).map(({ version, epochEnd }) => ({ version, epochEnd }));
  }

  async read(version: number): Promise<ShardCheckpoint | undefined> {
    const entry = (await this.entries()).find((e) => e.version === version);
    if (!entry) return undefined;
    const data = await this.bucket.os.getBlob(entry.name);
    return data ? decodeCheckpoint(data, `${this.bucket.name}/${entry.name}`) : undefined;
  }

  async prune(keep: number, keepEpochs: number): Promise<void> {
    const doomed = doomedCheckpoints(await this.entries(), keep, keepEpochs);
    for (const e of doomed) await this.bucket.os.delete(e.name);
  }

  async discardAfter(version: number): Promise<void> {
    for (const e of await this.entries()) if (e.version > version) await this.bucket.os.delete(e.name);
  }

  private async entries(): Promise<{ name: string; version: number; epochEnd: number | undefined }[]> {
    const out: { name: string; version: number; epochEnd: number | undefined }[] = [];
    for (const info of await this.bucket.os.list()) {
      if (info.deleted || !info.name.startsWith(this.prefix)) continue;
      const parsed = parseCheckpointName(info.name.slice(this.prefix.length));
      if (parsed) out.push({ name: info.name, ...parsed });
    }
    return out.sort((a, b) => a.version - b.version);
  }
}
