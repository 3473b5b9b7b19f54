import { open, readFile, readdir, rename, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetFileError } from '../errors.ts';

/** The state of one parameter-server shard for one job, as saved at an epoch end. */
export interface ShardCheckpoint {
  jobId: string;
  shardIndex: number;
  shardCount: number;
  /** Parameter version (applied steps). */
  version: number;
  /** Epochs completed at `version`. */
  epoch: number;
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
  optimizer: string;
  /** Element offset of each tensor inside the float32 body. */
  tensors: { name: string; offset: number; length: number }[];
}

const MAGIC = 'DTPS';
const FILE_RE = /^epoch-(\d{6,})\.ckpt$/;

/** File name of the checkpoint of `epoch` (zero-padded so names sort by epoch). */
export function checkpointFileName(epoch: number): string {
  return `epoch-${String(epoch).padStart(6, '0')}.ckpt`;
}

/**
 * Writes a checkpoint into `dir` atomically: the file is written under a temporary name, flushed to
 * disk, then renamed, so a reader never sees a half-written checkpoint. Layout: `DTPS`, u32 LE header
 * length, UTF-8 JSON header, zero padding to a multiple of 4, then the raw little-endian float32 body.
 * Returns the path written.
 */
export async function writeCheckpoint(dir: string, ckpt: ShardCheckpoint): Promise<string> {
  await mkdir(dir, { recursive: true });
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

  const path = join(dir, checkpointFileName(ckpt.epoch));
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(lead);
    for (const data of ckpt.tensors.values()) {
      if (data.length > 0) await fh.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
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
  const buf = await readFile(path);
  const bad = (why: string): DatasetFileError =>
    new DatasetFileError(`checkpoint ${path}: ${why}`, { file: path });
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== MAGIC)
    throw bad('not a distrain checkpoint (bad magic)');
  const jsonLength = buf.readUInt32LE(4);
  if (8 + jsonLength > buf.length) throw bad('truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + jsonLength)) as Header;
  } catch (err) {
    throw new DatasetFileError(`checkpoint ${path}: header is not JSON`, { file: path, cause: err });
  }
  if (header.format !== 'distrain-ps-checkpoint' || header.formatVersion !== 1)
    throw bad('unknown format or version');
  const bodyStart = 8 + jsonLength + ((4 - ((8 + jsonLength) % 4)) % 4);
  const bodyElems = (buf.length - bodyStart) / 4;
  // One aligned copy of the body; every tensor is an independent copy so callers may keep any of them.
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
    const bytes = buf.subarray(bodyStart + t.offset * 4, bodyStart + (t.offset + t.length) * 4);
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
    optimizer: header.optimizer,
    tensors,
  };
}

/** Path of the newest (highest epoch) checkpoint in `dir`, or undefined when there is none or no folder. */
export async function latestCheckpoint(dir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let best: { epoch: number; name: string } | undefined;
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (!m) continue;
    const epoch = Number(m[1]);
    if (!best || epoch > best.epoch) best = { epoch, name };
  }
  return best ? join(dir, best.name) : undefined;
}

/**
 * Deletes all but the newest `keep` checkpoints in `dir`.
 * @param keep @default 2
 */
export async function pruneCheckpoints(dir: string, keep = 2): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const epochOf = (n: string): number => Number(FILE_RE.exec(n)?.[1] ?? -1);
  const ckpts = names.filter((n) => FILE_RE.test(n)).sort((a, b) => epochOf(a) - epochOf(b));
  const doomed = ckpts.slice(0, Math.max(0, ckpts.length - keep));
  await Promise.all(doomed.map((n) => rm(join(dir, n), { force: true })));
}
