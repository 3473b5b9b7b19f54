import type { ParamMap } from '@distrain/core';
import type { BlobStore } from '@distrain/core/events';
import type { TextArtifacts } from '../text-job.ts';

/**
 * An ended job's final artifacts, kept in durable storage (JetStream Object Store with NATS, files
 * under the coordinator's state folder otherwise) so `export` and `predictions` work after the job
 * left the coordinator's memory (evicted, or a coordinator restart). The model description an export
 * needs (spec, dataset) is in the job record; these are what the record does not hold.
 */
export interface JobArtifacts {
  /** Final parameters, by variable name. */
  params?: ParamMap;
  /** The newest evaluated epoch's predictions CSV. */
  predictionsCsv?: Buffer;
  /** Text jobs: vocabulary, test texts, corpus statistics. */
  text?: TextArtifacts;
}

/** Job ids that can name blobs (generated ids always can; anything else has no artifacts). */
const STORABLE_ID = /^(?!.*\.\.)[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$/;

const PARAMS_FORMAT = 'distrain-params-v1';

/**
 * Encodes parameters as one blob: a little-endian uint32 header length, the JSON header
 * `{format, tensors: [[name, length], ...]}` padded to 4 bytes, then each tensor's float32
 * little-endian values in header order. {@link decodeParams} is its inverse.
 */
export function encodeParams(params: ParamMap): Buffer {
  const header = Buffer.from(
    JSON.stringify({ format: PARAMS_FORMAT, tensors: [...params].map(([name, v]) => [name, v.length]) }),
  );
  const headerBytes = Math.ceil((4 + header.length) / 4) * 4;
  let total = headerBytes;
  for (const v of params.values()) total += v.length * 4;
  const out = Buffer.alloc(total, 0x20);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let at = headerBytes;
  for (const v of params.values()) {
    Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(out, at);
    at += v.byteLength;
  }
  return out;
}

/** Decodes {@link encodeParams}; throws on anything else (a corrupt or foreign blob). */
export function decodeParams(blob: Uint8Array): ParamMap {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < 4) throw new Error('parameters blob is truncated');
  const headerLength = buf.readUInt32LE(0);
  if (4 + headerLength > buf.length) throw new Error('parameters blob header is truncated');
  const header = JSON.parse(buf.subarray(4, 4 + headerLength).toString()) as {
    format?: string;
    tensors?: [string, number][];
  };
  if (header.format !== PARAMS_FORMAT || !Array.isArray(header.tensors))
    throw new Error(`parameters blob is not ${PARAMS_FORMAT}`);
  let at = Math.ceil((4 + headerLength) / 4) * 4;
  const params: ParamMap = new Map();
  for (const [name, length] of header.tensors) {
    if (at + length * 4 > buf.length) throw new Error(`parameters blob is truncated at ${name}`);
    const v = new Float32Array(length);
    Buffer.from(v.buffer).set(buf.subarray(at, at + length * 4));
    params.set(name, v);
    at += length * 4;
  }
  return params;
}

/** Writes and reads jobs' artifacts as blobs `jobs/<id>/{params.bin,predictions.csv,text.json}`. */
export class JobResults {
  constructor(private readonly blobs: BlobStore) {}

  /** Where the artifacts live (for logs). */
  get location(): string {
    return this.blobs.location;
  }

  /** Stores what the job has (resolves once durable). */
  async save(jobId: string, artifacts: JobArtifacts): Promise<void> {
    if (!STORABLE_ID.test(jobId)) return;
    const writes: Promise<void>[] = [];
    if (artifacts.params)
      writes.push(this.blobs.put(`jobs/${jobId}/params.bin`, encodeParams(artifacts.params)));
    if (artifacts.predictionsCsv)
      writes.push(this.blobs.put(`jobs/${jobId}/predictions.csv`, artifacts.predictionsCsv));
    if (artifacts.text)
      writes.push(this.blobs.put(`jobs/${jobId}/text.json`, Buffer.from(JSON.stringify(artifacts.text))));
    await Promise.all(writes);
  }

  /** A text job's stored vocabulary and test texts, or undefined. */
  async loadText(jobId: string): Promise<TextArtifacts | undefined> {
    if (!STORABLE_ID.test(jobId)) return undefined;
    const text = await this.blobs.get(`jobs/${jobId}/text.json`);
    return text ? (JSON.parse(Buffer.from(text).toString()) as TextArtifacts) : undefined;
  }

  /** The job's stored artifacts (fields absent when not stored). */
  async load(jobId: string): Promise<JobArtifacts> {
    if (!STORABLE_ID.test(jobId)) return {};
    const [params, predictions, text] = await Promise.all([
      this.blobs.get(`jobs/${jobId}/params.bin`),
      this.blobs.get(`jobs/${jobId}/predictions.csv`),
      this.blobs.get(`jobs/${jobId}/text.json`),
    ]);
    return {
      ...(params ? { params: decodeParams(params) } : {}),
      ...(predictions ? { predictionsCsv: Buffer.from(predictions) } : {}),
      ...(text ? { text: JSON.parse(Buffer.from(text).toString()) as TextArtifacts } : {}),
    };
  }
}
