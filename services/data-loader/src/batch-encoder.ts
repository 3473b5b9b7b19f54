import type { SplitData } from '@distrain/core/datasets';
import { DTYPE_WIRE, varintSize, writeVarint } from '@distrain/core';

/**
 * Hand-written protobuf encoder for `distrain.v1.StreamBatchesResponse`. It sizes the message first
 * and gathers the samples straight into the one output Buffer, so a batch costs one allocation and
 * one copy per sample instead of gather + protobufjs copy (see bench/loader.ts). The result is
 * byte-for-byte a valid message any protobuf decoder reads (checked against protobufjs in the test).
 */

/** Header fields of one response. */
export interface BatchHeader {
  epoch: number;
  step: number;
  stepsInEpoch: number;
  globalBatchSize: number;
  /** Offset of the slice inside the global batch. */
  offset: number;
}

/** What the encoder needs to know about a dataset split (computed once per stream). */
export interface EncodeLayout {
  split: SplitData;
  /** Feature shape of one sample. */
  featureShape: readonly number[];
  /** Wire dtype numbers: DTYPE_FLOAT32 = 1, DTYPE_INT32 = 2, DTYPE_UINT8 = 3. */
  featureWireDType: number;
  labelWireDType: number;
  /** Byte view of `split.features` ({@link featureSource}); made per batch when absent. */
  source?: Uint8Array;
}

/** Wire enum values of tensor.proto `DType` (the one table, in the core's wire toolkit). */
export const WIRE_DTYPE = DTYPE_WIRE;

/** Size of the packed `lengths` of samples order[start..start+count). */
function lengthsSize(lengths: Int32Array, order: Uint32Array, start: number, count: number): number {
  let n = 0;
  for (let k = 0; k < count; k++) n += varintSize(lengths[order[start + k] as number] as number);
  return n;
}

/** Size of a packed repeated-varint payload. */
function packedSize(values: ArrayLike<number>, start: number, count: number): number {
  let n = 0;
  for (let k = 0; k < count; k++) n += varintSize(values[start + k] as number);
  return n;
}

function tensorBodySize(
  dtype: number,
  shape: readonly number[],
  dataBytes: number,
): { size: number; shapeBytes: number } {
  let shapeBytes = 0;
  for (const d of shape) shapeBytes += varintSize(d);
  let size = 1 + varintSize(dtype); // field 1 dtype
  if (shape.length > 0) size += 1 + varintSize(shapeBytes) + shapeBytes; // field 2 packed shape
  if (dataBytes > 0) size += 1 + varintSize(dataBytes) + dataBytes; // field 3 data
  return { size, shapeBytes };
}

/** Upper bound of the encoded size of a slice of `count` samples (for the message size check). */
export function maxEncodedBytes(layout: EncodeLayout, count: number, header: BatchHeader): number {
  const sample = layout.split.count === 0 ? 0 : layout.split.features.byteLength / layout.split.count;
  const f = tensorBodySize(layout.featureWireDType, [count, ...layout.featureShape], count * sample);
  const l = tensorBodySize(layout.labelWireDType, [count], count * 4);
  const idx = count * 5 * (layout.split.lengths === undefined ? 1 : 2);
  return (
    6 * 5 + // header varints (tag + up to 5 bytes)
    2 * 5 + // alignment padding before features and labels
    1 +
    varintSize(f.size) +
    f.size +
    1 +
    varintSize(l.size) +
    l.size +
    1 +
    varintSize(idx) +
    idx +
    varintSize(header.globalBatchSize)
  );
}

/** Writes a Tensor's tag, length, dtype and shape; returns where its `data` bytes go (after their tag). */
function writeTensorHead(
  buf: Buffer,
  pos: number,
  field: number,
  dtype: number,
  shape: readonly number[],
  body: { size: number; shapeBytes: number },
  dataBytes: number,
): number {
  buf[pos++] = (field << 3) | 2;
  pos = writeVarint(buf, pos, body.size);
  buf[pos++] = (1 << 3) | 0;
  pos = writeVarint(buf, pos, dtype);
  if (shape.length > 0) {
    buf[pos++] = (2 << 3) | 2;
    pos = writeVarint(buf, pos, body.shapeBytes);
    for (const d of shape) pos = writeVarint(buf, pos, d);
  }
  if (dataBytes > 0) {
    buf[pos++] = (3 << 3) | 2;
    pos = writeVarint(buf, pos, dataBytes);
  }
  return pos;
}

function varintField(buf: Buffer, pos: number, field: number, v: number): number {
  if (v === 0) return pos; // proto3 leaves default scalars out
  buf[pos++] = field << 3;
  return writeVarint(buf, pos, v);
}

/**
 * A plain Uint8Array view (no copy) of a split's feature bytes; compute once per stream and pass as
 * `layout.source`. Deliberately not a Buffer: Buffer#subarray builds a FastBuffer per call, the
 * built-in Uint8Array#subarray is several times cheaper, and the gather makes one per sample.
 */
export function featureSource(split: SplitData): Uint8Array {
  return new Uint8Array(split.features.buffer, split.features.byteOffset, split.features.byteLength);
}

/**
 * Bytes grpc-js puts before a message in the buffer it hands to the receiver's deserializer: the
 * frame's compressed flag and length. Its stream decoder concatenates every message with that prefix
 * into a fresh Buffer (a new ArrayBuffer, or an 8-byte aligned slot of the Buffer pool for small
 * ones), so the message starts 5 bytes past an 8-byte boundary. The encoder pads with that in mind;
 * a receiver that gets the bytes elsewhere still decodes them, only copying unaligned data.
 */
export const GRPC_PREFIX_BYTES = 5;

/** Field number of `StreamBatchesResponse.alignment_padding`. */
const PADDING_FIELD = 10;

/**
 * Bytes of an `alignment_padding` field (tag, length, zeros) that moves data which would start at
 * `at` (counted from the receiver's 8-byte boundary) to a multiple of 4: 0 (none), 2, 3 or 5.
 */
function paddingFor(at: number): number {
  const shift = (4 - (at % 4)) % 4;
  return shift === 1 ? 5 : shift;
}

/** Writes an `alignment_padding` field of `bytes` bytes in all (see {@link paddingFor}). */
function writePadding(buf: Buffer, pos: number, bytes: number): number {
  if (bytes === 0) return pos;
  buf[pos++] = (PADDING_FIELD << 3) | 2;
  buf[pos++] = bytes - 2;
  for (let i = 2; i < bytes; i++) buf[pos++] = 0;
  return pos;
}

/** Sizes of every part of one encoded response, computed once per batch. */
export interface BatchPlan {
  /** Bytes of the whole message. */
  size: number;
  f: { size: number; shapeBytes: number };
  l: { size: number; shapeBytes: number };
  /** Bytes of the padding fields before `features` and before `labels` (0, 2, 3 or 5 each). */
  featurePad: number;
  labelPad: number;
  idxBytes: number;
  /** Packed `lengths` payload (text datasets), 0 when absent. */
  lenBytes: number;
  featureShape: number[];
  featureBytes: number;
  labelBytes: number;
  sampleBytes: number;
}

/** Bytes of a Tensor field before its data: tag, length, dtype, shape, data tag and length. */
function tensorHeadBytes(body: { size: number }, dataBytes: number): number {
  return 1 + varintSize(body.size) + body.size - dataBytes;
}

/** Plans the response for samples order[start..start+count) (sizes, padding); see {@link encodeBatch}. */
export function planBatch(
  layout: EncodeLayout,
  header: BatchHeader,
  order: Uint32Array,
  start: number,
  count: number,
): BatchPlan {
  const { split } = layout;
  const sampleBytes = split.count === 0 ? 0 : split.features.byteLength / split.count;
  const featureBytes = count * sampleBytes;
  const labelBytes = count * 4;
  const featureShape = [count, ...layout.featureShape];
  const f = tensorBodySize(layout.featureWireDType, featureShape, featureBytes);
  const l = tensorBodySize(layout.labelWireDType, [count], labelBytes);
  const idxBytes = packedSize(order, start, count);
  const lenBytes = split.lengths === undefined ? 0 : lengthsSize(split.lengths, order, start, count);
  // No closures on this path: tsx/esbuild wraps each one in a `__name` call per batch.
  let size = 0;
  if (header.epoch !== 0) size += 1 + varintSize(header.epoch);
  if (header.step !== 0) size += 1 + varintSize(header.step);
  if (header.stepsInEpoch !== 0) size += 1 + varintSize(header.stepsInEpoch);
  if (header.globalBatchSize !== 0) size += 1 + varintSize(header.globalBatchSize);
  // 4-byte data (float32/int32 features, labels) is placed aligned for the receiver; uint8 needs not.
  const fHead = tensorHeadBytes(f, featureBytes);
  const featurePad =
    featureBytes > 0 && layout.featureWireDType !== WIRE_DTYPE.uint8
      ? paddingFor(GRPC_PREFIX_BYTES + size + fHead)
      : 0;
  size += featurePad + fHead + featureBytes;
  const lHead = tensorHeadBytes(l, labelBytes);
  const labelPad = labelBytes > 0 ? paddingFor(GRPC_PREFIX_BYTES + size + lHead) : 0;
  size += labelPad + lHead + labelBytes;
  if (count > 0) size += 1 + varintSize(idxBytes) + idxBytes;
  if (header.offset !== 0) size += 1 + varintSize(header.offset);
  if (lenBytes > 0) size += 1 + varintSize(lenBytes) + lenBytes;
  return {
    size,
    f,
    l,
    featurePad,
    labelPad,
    idxBytes,
    lenBytes,
    featureShape,
    featureBytes,
    labelBytes,
    sampleBytes,
  };
}

/** Exact size of the message {@link encodeBatch} would produce. */
export function encodedBatchBytes(
  layout: EncodeLayout,
  header: BatchHeader,
  order: Uint32Array,
  start: number,
  count: number,
): number {
  return planBatch(layout, header, order, start, count).size;
}

/**
 * Encodes the response for samples `order[start] .. order[start + count - 1]` of `layout.split`,
 * gathering features and labels directly into the returned Buffer: a view of `scratch` when it is
 * big enough (the caller must be done with it before the next encode), else a new Buffer.
 */
export function encodeBatch(
  layout: EncodeLayout,
  header: BatchHeader,
  order: Uint32Array,
  start: number,
  count: number,
  scratch?: Buffer,
): Buffer {
  const plan = planBatch(layout, header, order, start, count);
  const buf =
    scratch !== undefined && scratch.length >= plan.size
      ? scratch.subarray(0, plan.size)
      : Buffer.allocUnsafe(plan.size);
  return writeBatch(buf, layout, header, order, start, count, plan);
}

/** Writes a planned response into `buf` (exactly `plan.size` bytes) and returns `buf`. */
export function writeBatch(
  buf: Buffer,
  layout: EncodeLayout,
  header: BatchHeader,
  order: Uint32Array,
  start: number,
  count: number,
  plan: BatchPlan,
): Buffer {
  const { split } = layout;
  const { size, f, l, idxBytes, lenBytes, featureShape, featureBytes, labelBytes, sampleBytes } = plan;
  let pos = varintField(buf, 0, 1, header.epoch);
  pos = varintField(buf, pos, 2, header.step);
  pos = varintField(buf, pos, 3, header.stepsInEpoch);
  pos = varintField(buf, pos, 4, header.globalBatchSize);
  pos = writePadding(buf, pos, plan.featurePad);
  pos = writeTensorHead(buf, pos, 5, layout.featureWireDType, featureShape, f, featureBytes);
  const src = layout.source ?? featureSource(split);
  if (count > 0 && isRun(order, start, count)) {
    const first = order[start] as number;
    buf.set(src.subarray(first * sampleBytes, (first + count) * sampleBytes), pos);
  } else {
    for (let k = 0; k < count; k++) {
      const from = (order[start + k] as number) * sampleBytes;
      buf.set(src.subarray(from, from + sampleBytes), pos + k * sampleBytes);
    }
  }
  pos += featureBytes;
  pos = writePadding(buf, pos, plan.labelPad);
  pos = writeTensorHead(buf, pos, 6, layout.labelWireDType, [count], l, labelBytes);
  const labelSrc = split.labels;
  if (labelSrc instanceof Int32Array) {
    for (let k = 0; k < count; k++)
      buf.writeInt32LE(labelSrc[order[start + k] as number] as number, pos + k * 4);
  } else {
    for (let k = 0; k < count; k++)
      buf.writeFloatLE(labelSrc[order[start + k] as number] as number, pos + k * 4);
  }
  pos += labelBytes;
  if (count > 0) {
    buf[pos++] = (7 << 3) | 2;
    pos = writeVarint(buf, pos, idxBytes);
    for (let k = 0; k < count; k++) pos = writeVarint(buf, pos, order[start + k] as number);
  }
  pos = varintField(buf, pos, 8, header.offset);
  const lengths = split.lengths;
  if (lengths !== undefined && lenBytes > 0) {
    buf[pos++] = (9 << 3) | 2;
    pos = writeVarint(buf, pos, lenBytes);
    for (let k = 0; k < count; k++)
      pos = writeVarint(buf, pos, lengths[order[start + k] as number] as number);
  }
  if (pos !== size) throw new Error(`encodeBatch: wrote ${pos} bytes, sized ${size}`);
  return buf;
}

/** Whether order[start..start+count) are consecutive rows (the unshuffled test split): one copy. */
function isRun(order: Uint32Array, start: number, count: number): boolean {
  const first = order[start] as number;
  for (let k = 1; k < count; k++) if (order[start + k] !== first + k) return false;
  return true;
}
