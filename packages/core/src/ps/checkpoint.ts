import { open, readFile, readdir, rename, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetFileError } from '../errors.ts';

/** The state of one parameter-server shard for one job: parameters, optimizer slots and batch-norm state at `version`. */
export interface ShardCheckpoint {
  jobId: string;
  shardIndex: number;
  shardCount: number;
  /** Parameter version (applied steps). */
  version: number;
  /** Epochs completed at `version`. */
  epoch: number;
  /** Whether `version` is the last step of epoch `epoch` (an epoch checkpoint, kept for the evaluator). */
  epochEnd?: boolean;
  /** Optimizer type the slots belong to (resume refuses another one). */
  optimizer: string;
  /** Named float32 arrays: parts (`<var>#<i>`) and their slots (`<var>#<i>/m`), in a fixed order. */
  tensors: Map<string, Float32Array>;
}

interface Header {
  format: 'distrain-ps-checkpoint';
  formatVersion: 1;
  jobId: string;
  shardIndex: number;
  shardCount: number;
  version: number;
  epoch: number;
  epochEnd?: boolean;
  optimizer: string;
  /** Element offset of each tensor inside the float32 body. */
  tensors: { name: string; offset: number; length: number }[];
}

const MAGIC = 'DTPS';
const FILE_RE = /^v(\d{12})(?:-epoch(\d{6}))?\.ckpt$/;

/** One checkpoint in a folder, as its file name says. */
export interface CheckpointEntry {
  version: number;
  /** The epoch it ends, when it is an epoch checkpoint. */
  epochEnd: number | undefined;
  path: string;
}

/**
 * File name of the checkpoint at `version` (zero-padded so names sort by version); an epoch
 * checkpoint is tagged with the epoch it ends.
 */
export function checkpointFileName(version: number, epochEnd?: number): string {
  const v = `v${String(version).padStart(12, '0')}`;
  return epochEnd === undefined ? `${v}.ckpt` : `${v}-epoch${String(epochEnd).padStart(6, '0')}.ckpt`;
}

/**
 * The bytes of a checkpoint: `DTPS`, u32 LE header length, UTF-8 JSON header, zero padding to a
 * multiple of 4, then the raw little-endian float32 body. Returns the chunks (views, not copies, of
 * the tensors) in order.
 */
export function encodeCheckpoint(ckpt: ShardCheckpoint): Uint8Array[] {
  const entries: Header['tensors'] = [];
  let offset = 0;
  for (const [name, data] of ckpt.tensors) {
    entries.push({ name, offset, length: data.length });
    offset += data.length;
  }
  const header: Header = {
    format: 'distrain-ps-checkpoint',
    formatVersion: 1,
    jobId: ckpt.jobId,
    shardIndex: ckpt.shardIndex,
    shardCount: ckpt.shardCount,
    version: ckpt.version,
    epoch: ckpt.epoch,
    epochEnd: ckpt.epochEnd ?? false,
    optimizer: ckpt.optimizer,
    tensors: entries,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = 8 + json.length;
  const pad = (4 - (pre % 4)) % 4;
  const lead = Buffer.alloc(pre + pad);
  lead.write(MAGIC, 0, 'latin1');
  lead.writeUInt32LE(json.length, 4);
  json.copy(lead, 8);
  const chunks: Uint8Array[] = [lead];
  for (const data of ckpt.tensors.values())
    if (data.length > 0) chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return chunks;
}

/**
 * Writes a checkpoint into `dir` atomically: the file is written under a temporary name, flushed to
 * disk, then renamed, so a reader never sees a half-written checkpoint. Returns the path written.
 */
export async function writeCheckpoint(dir: string, ckpt: ShardCheckpoint): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, checkpointFileName(ckpt.version, ckpt.epochEnd ? ckpt.epoch : undefined));
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    for (const chunk of encodeCheckpoint(ckpt)) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return path;
}

/** Reads a checkpoint file written by {@link writeCheckpoint}; a corrupt file throws DatasetFileError naming it. */
export async function readCheckpoint(path: string): Promise<ShardCheckpoint> {
  return decodeCheckpoint(await readFile(path), path);
}

/** Decodes the bytes of {@link encodeCheckpoint}; `name` (a path or object name) is used in errors. */
export function decodeCheckpoint(buf: Uint8Array, name: string): ShardCheckpoint {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string): DatasetFileError =>
    new DatasetFileError(`checkpoint ${name}: ${why}`, { file: name });
  if (b.length < 8 || b.toString('latin1', 0, 4) !== MAGIC)
    throw bad('not a distrain checkpoint (bad magic)');
  const jsonLength = b.readUInt32LE(4);
  if (8 + jsonLength > b.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(b.toString('utf8', 8, 8 + jsonLength)) as Header;
  } catch (err) {
    throw new DatasetFileError(`checkpoint ${name}: header is not JSON`, { file: name, cause: err });
  }
  if (header.format !== 'distrain-ps-checkpoint' || header.formatVersion !== 1)
    throw bad('unknown format or version');
  const bodyStart = 8 + jsonLength + ((4 - ((8 + jsonLength) % 4)) % 4);
  const bodyElems = (b.length - bodyStart) / 4;
  // Every tensor is an independent aligned copy so callers may keep any of them.
  const tensors = new Map<string, Float32Array>();
  for (const t of header.tensors) {
    if (
      !Number.isInteger(t.offset) ||
      !Number.isInteger(t.length) ||
      t.offset < 0 ||
      t.offset + t.length > bodyElems
    ) {
      throw bad(`tensor ${t.name} lies outside the file (truncated?)`);
    }
    const bytes = b.subarray(bodyStart + t.offset * 4, bodyStart + (t.offset + t.length) * 4);
    const data = new Float32Array(t.length);
    new Uint8Array(data.buffer).set(bytes);
    tensors.set(t.name, data);
  }
  return {
    jobId: header.jobId,
    shardIndex: header.shardIndex,
    shardCount: header.shardCount,
    version: header.version,
    epoch: header.epoch,
    epochEnd: header.epochEnd ?? false,
    optimizer: header.optimizer,
    tensors,
  };
}

/** Parses a checkpoint file or object name; undefined for anything else. */
export function parseCheckpointName(
  name: string,
): { version: number; epochEnd: number | undefined } | undefined {
  const m = FILE_RE.exec(name);
  if (!m) return undefined;
  return { version: Number(m[1]), epochEnd: m[2] === undefined ? undefined : Number(m[2]) };
}

/** The checkpoints in `dir`, oldest version first; empty when there is no folder. */
export async function listCheckpoints(dir: string): Promise<CheckpointEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: CheckpointEntry[] = [];
  for (const name of names) {
    const parsed = parseCheckpointName(name);
    if (parsed) out.push({ ...parsed, path: join(dir, name) });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Path of the newest (highest version) checkpoint in `dir`, or undefined when there is none or no folder. */
export async function latestCheckpoint(dir: string): Promise<string | undefined> {
  return (await listCheckpoints(dir)).at(-1)?.path;
}

/**
 * Which checkpoints to delete so that the newest `keep` remain, plus the newest `keepEpochs` epoch
 * checkpoints (the evaluator may still need them).
 */
export function doomedCheckpoints<T extends { version: number; epochEnd: number | undefined }>(
  entries: readonly T[],
  keep: number,
  keepEpochs: number,
): T[] {
  const sorted = [...entries].sort((a, b) => a.version - b.version);
  const kept = new Set<T>(sorted.slice(Math.max(0, sorted.length - keep)));
  const epochs = sorted.filter((e) => e.epochEnd !== undefined);
  for (const e of epochs.slice(Math.max(0, epochs.length - keepEpochs))) kept.add(e);
  return sorted.filter((e) => !kept.has(e));
}

/**
 * Deletes all but the newest `keep` checkpoints in `dir` and the newest `keepEpochs` epoch checkpoints.
 * @param keep @default 3
 * @param keepEpochs @default 4
 */
export async function pruneCheckpoints(dir: string, keep = 3, keepEpochs = 4): Promise<void> {
  let entries: CheckpointEntry[];
  try {
    entries = await listCheckpoints(dir);
  } catch {
    return;
  }
  await Promise.all(doomedCheckpoints(entries, keep, keepEpochs).map((e) => rm(e.path, { force: true })));
}
