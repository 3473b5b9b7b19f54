// Over 400 lines: hand-written protobuf codecs of the hot messages (PushPull, Pull) and their field tables, kept together so each encoder sits beside its decoder.
import type { PackageDefinition } from '@grpc/proto-loader';
import type { NamedTensor, NamedTensor__Output } from '../generated/distrain/v1/NamedTensor.ts';
import type { PullResponse, PullResponse__Output } from '../generated/distrain/v1/PullResponse.ts';
import type { PushPullRequest, PushPullRequest__Output } from '../generated/distrain/v1/PushPullRequest.ts';
import type {
  PushPullResponse,
  PushPullResponse__Output,
} from '../generated/distrain/v1/PushPullResponse.ts';
import type { Tensor__Output } from '../generated/distrain/v1/Tensor.ts';
import {
  DTYPE_ENUM_NAMES,
  ProtoReader,
  WireType,
  utf8Size,
  varintSize,
  writeDouble,
  writeUtf8,
  writeVarint,
} from '../protobuf-wire.ts';

/**
 * Hand-written protobuf codecs for the tensor-heavy parameter-server messages (PushPullRequest,
 * PushPullResponse, PullResponse), installed into the shared package definition by
 * {@link installPsCodecs} so every client and server of this process uses them; small messages stay
 * with protobufjs.
 *
 * - Encode sizes the message first and writes it into ONE buffer with one copy of each tensor's
 *   bytes (protobufjs builds a list of writer ops, then copies).
 * - Decode returns exactly what proto-loader produces (camelCase, enums as strings, uint64 as
 *   Number, defaults filled, same key order) with `data` as a view of the received bytes.
 * - Alignment: grpc-js hands a message to the deserializer at byte 5 of a buffer it allocated for
 *   the frame (1 flag + 4 length bytes; Node aligns every allocation to 8), so the encoder places each
 *   tensor's `data` where `5 + offset` is a multiple of 4: the receiver can then view float32 data in
 *   place instead of copying it to realign. It pads with valid protobuf only: a repeated scalar
 *   field (the last `dtype` wins, all copies are equal) and `shape` written unpacked or half packed
 *   (decoders must accept both). Any decoder reads the result; one that receives it at another offset
 *   just copies, as before.
 * Byte compatibility with protobufjs is checked both ways in fast-codecs.test.ts.
 */

/** Bytes grpc-js puts before a message in the buffer it decodes from (flag + length). */
export const GRPC_FRAME_HEADER_BYTES = 5;

const DTYPE_NUMBER: Record<string, number> = Object.fromEntries(DTYPE_ENUM_NAMES.map((n, i) => [n, i]));
const DTYPE_NAME: readonly Tensor__Output['dtype'][] = DTYPE_ENUM_NAMES;

// ----------------------------------------------------------------------------------------- encode

/** How one NamedTensor is written (computed by {@link planTensor}). */
interface TensorPlan {
  name: string;
  nameBytes: number;
  /** null: no `tensor` field. */
  data: Uint8Array | null;
  dtype: number;
  shape: readonly number[];
  /** Copies of the dtype field (0 when dtype is 0 and no padding is needed). */
  dtypeCount: number;
  /** 0: shape packed; 1: first dimension unpacked (the rest packed). */
  shapeVariant: number;
  shapeBytes: number;
  /** Bytes of the Tensor message body. */
  tensorBody: number;
  /** Bytes of the NamedTensor message body. */
  body: number;
}

const isUint32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isUint53 = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Sizes of the `shape` field: [packed, alternative] (alternative -1 when there is none). */
function shapeSizes(shape: readonly number[]): [number, number] {
  const k = shape.length;
  if (k === 0) return [0, -1];
  let payload = 0;
  for (let i = 0; i < k; i++) payload += varintSize(shape[i] as number);
  const packed = 1 + varintSize(payload) + payload;
  if (k === 1) return [packed, 1 + payload];
  const first = varintSize(shape[0] as number);
  const rest = payload - first;
  return [packed, 1 + first + 1 + varintSize(rest) + rest];
}

/**
 * Plans one NamedTensor whose key starts at message offset `pos`, choosing the padding that puts
 * its data at an aligned offset. Returns undefined when the value needs the generic encoder.
 */
function planTensor(nt: NamedTensor, pos: number): TensorPlan | undefined {
  const name = nt.name ?? '';
  if (typeof name !== 'string') return undefined;
  const nameBytes = utf8Size(name);
  const nameField = nameBytes > 0 ? 1 + varintSize(nameBytes) + nameBytes : 0;
  const t = nt.tensor;
  if (t === null || t === undefined) {
    return {
      name,
      nameBytes,
      data: null,
      dtype: 0,
      shape: [],
      dtypeCount: 0,
      shapeVariant: 0,
      shapeBytes: 0,
      tensorBody: 0,
      body: nameField,
    };
  }
  const rawDtype = t.dtype ?? 0;
  const dtype = typeof rawDtype === 'string' ? DTYPE_NUMBER[rawDtype] : rawDtype;
  if (!isUint32(dtype) || dtype > 0x7fffffff) return undefined;
  const shape = t.shape ?? [];
  // Anything but an array of uint32 (e.g. an object with numeric keys) goes to the generic encoder.
  if (!Array.isArray(shape)) return undefined;
  for (let i = 0; i < shape.length; i++) if (!isUint32(shape[i])) return undefined;
  const data = t.data ?? EMPTY;
  if (!(data instanceof Uint8Array)) return undefined; // base64 strings: generic encoder
  const dataBytes = data.byteLength;
  const dataField = dataBytes > 0 ? 1 + varintSize(dataBytes) + dataBytes : 0;
  const unit = 1 + varintSize(dtype);
  const baseCount = dtype !== 0 ? 1 : 0;
  const [packed, alt] = shapeSizes(shape);
  let best: TensorPlan | undefined;
  for (let variant = 0; variant < 2; variant++) {
    const shapeBytes = variant === 0 ? packed : alt;
    if (shapeBytes < 0) break;
    for (let extra = 0; extra < 4; extra++) {
      const dtypeCount = baseCount + extra;
      const head = dtypeCount * unit + shapeBytes;
      const tensorBody = head + dataField;
      const body = nameField + 1 + varintSize(tensorBody) + tensorBody;
      const plan: TensorPlan = {
        name,
        nameBytes,
        data,
        dtype,
        shape,
        dtypeCount,
        shapeVariant: variant,
        shapeBytes,
        tensorBody,
        body,
      };
      if (dataBytes === 0) return plan;
      const dataAt =
        pos +
        1 +
        varintSize(body) +
        nameField +
        1 +
        varintSize(tensorBody) +
        head +
        1 +
        varintSize(dataBytes);
      if ((GRPC_FRAME_HEADER_BYTES + dataAt) % 4 === 0 && (best === undefined || body < best.body))
        best = plan;
    }
  }
  if (best) return best;
  // No aligned layout (a scalar shape needing an odd pad): plain layout, the receiver realigns.
  const tensorBody = baseCount * unit + packed + dataField;
  return {
    name,
    nameBytes,
    data,
    dtype,
    shape,
    dtypeCount: baseCount,
    shapeVariant: 0,
    shapeBytes: packed,
    tensorBody,
    body: nameField + 1 + varintSize(tensorBody) + tensorBody,
  };
}

const EMPTY = new Uint8Array(0);

/** Plans a repeated NamedTensor field starting at `pos`; appends to `out`, returns the end offset. */
function planList(list: readonly NamedTensor[] | undefined, pos: number, out: TensorPlan[]): number {
  if (!list) return pos;
  for (let i = 0; i < list.length; i++) {
    const p = planTensor(list[i] as NamedTensor, pos);
    if (!p) return -1;
    out.push(p);
    pos += 1 + varintSize(p.body) + p.body;
  }
  return pos;
}

function writeList(buf: Uint8Array, pos: number, field: number, plans: readonly TensorPlan[]): number {
  const key = (field << 3) | WireType.delimited;
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i] as TensorPlan;
    buf[pos++] = key;
    pos = writeVarint(buf, pos, p.body);
    if (p.nameBytes > 0) {
      buf[pos++] = (1 << 3) | WireType.delimited;
      pos = writeVarint(buf, pos, p.nameBytes);
      pos = writeUtf8(buf, pos, p.name, p.nameBytes);
    }
    const data = p.data;
    if (data === null) continue;
    buf[pos++] = (2 << 3) | WireType.delimited;
    pos = writeVarint(buf, pos, p.tensorBody);
    for (let k = 0; k < p.dtypeCount; k++) {
      buf[pos++] = (1 << 3) | WireType.varint;
      pos = writeVarint(buf, pos, p.dtype);
    }
    const shape = p.shape;
    if (shape.length > 0) {
      let from = 0;
      if (p.shapeVariant === 1) {
        buf[pos++] = (2 << 3) | WireType.varint;
        pos = writeVarint(buf, pos, shape[0] as number);
        from = 1;
      }
      if (from < shape.length) {
        let payload = 0;
        for (let k = from; k < shape.length; k++) payload += varintSize(shape[k] as number);
        buf[pos++] = (2 << 3) | WireType.delimited;
        pos = writeVarint(buf, pos, payload);
        for (let k = from; k < shape.length; k++) pos = writeVarint(buf, pos, shape[k] as number);
      }
    }
    if (data.byteLength > 0) {
      buf[pos++] = (3 << 3) | WireType.delimited;
      pos = writeVarint(buf, pos, data.byteLength);
      buf.set(data, pos);
      pos += data.byteLength;
    }
  }
  return pos;
}

function scalarSize(field: number, v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v) + (field > 15 ? 1 : 0);
}

function writeScalar(buf: Uint8Array, pos: number, field: number, v: number): number {
  if (v === 0) return pos; // proto3 leaves defaults out
  buf[pos++] = field << 3;
  return writeVarint(buf, pos, v);
}

function writeDoubleField(buf: Uint8Array, pos: number, field: number, v: number): number {
  if (v === 0 && 1 / v > 0) return pos; // +0 is the default; -0 is kept, as protobuf does
  buf[pos++] = (field << 3) | WireType.fixed64;
  return writeDouble(buf, pos, v);
}

function doubleSize(v: number): number {
  return v === 0 && 1 / v > 0 ? 0 : 9;
}

function output(size: number, scratch: Buffer | undefined): Buffer {
  return scratch !== undefined && scratch.length >= size
    ? scratch.subarray(0, size)
    : Buffer.allocUnsafe(size);
}

/**
 * Encodes a PushPullRequest into one Buffer (a view of `scratch` when it is big enough), or returns
 * undefined when a field has a form only the generic encoder handles (Long or string numbers,
 * base64 data).
 */
export function encodePushPullRequest(m: PushPullRequest, scratch?: Buffer): Buffer | undefined {
  const jobId = m.jobId ?? '';
  const rank = m.rank ?? 0;
  const step = m.step ?? 0;
  const sampleCount = m.sampleCount ?? 0;
  const lossSum = m.lossSum ?? 0;
  const ackOnly = m.ackOnly === true ? 1 : 0;
  if (typeof jobId !== 'string' || !isUint32(rank) || !isUint53(step) || !isUint32(sampleCount))
    return undefined;
  if (typeof lossSum !== 'number') return undefined;
  const jobBytes = utf8Size(jobId);
  let pos =
    (jobBytes > 0 ? 1 + varintSize(jobBytes) + jobBytes : 0) +
    scalarSize(2, rank) +
    scalarSize(3, step) +
    scalarSize(4, sampleCount);
  const grads: TensorPlan[] = [];
  pos = planList(m.grads, pos, grads);
  if (pos < 0) return undefined;
  const states: TensorPlan[] = [];
  pos = planList(m.states, pos, states);
  if (pos < 0) return undefined;
  const size = pos + doubleSize(lossSum) + scalarSize(8, ackOnly);
  const buf = output(size, scratch);
  let at = 0;
  if (jobBytes > 0) {
    buf[at++] = (1 << 3) | WireType.delimited;
    at = writeVarint(buf, at, jobBytes);
    at = writeUtf8(buf, at, jobId, jobBytes);
  }
  at = writeScalar(buf, at, 2, rank);
  at = writeScalar(buf, at, 3, step);
  at = writeScalar(buf, at, 4, sampleCount);
  at = writeList(buf, at, 5, grads);
  at = writeList(buf, at, 6, states);
  at = writeDoubleField(buf, at, 7, lossSum);
  at = writeScalar(buf, at, 8, ackOnly);
  if (at !== size) throw new Error(`encodePushPullRequest: wrote ${at} bytes, sized ${size}`);
  return buf;
}

/** Encodes a PushPullResponse like {@link encodePushPullRequest}. */
export function encodePushPullResponse(m: PushPullResponse, scratch?: Buffer): Buffer | undefined {
  const version = m.version ?? 0;
  const meanLoss = m.meanLoss ?? 0;
  const ranks = m.ranks ?? 0;
  const serverSeconds = m.serverSeconds ?? 0;
  const applySeconds = m.applySeconds ?? 0;
  const checksum = m.paramsChecksum ?? 0;
  if (!isUint53(version) || typeof meanLoss !== 'number' || !isUint32(ranks)) return undefined;
  if (!isUint32(checksum)) return undefined;
  if (typeof serverSeconds !== 'number' || typeof applySeconds !== 'number') return undefined;
  const params: TensorPlan[] = [];
  let pos = planList(m.params, scalarSize(1, version), params);
  if (pos < 0) return undefined;
  pos += doubleSize(meanLoss) + scalarSize(4, ranks) + doubleSize(serverSeconds) + doubleSize(applySeconds);
  pos += scalarSize(7, checksum);
  const buf = output(pos, scratch);
  let at = writeScalar(buf, 0, 1, version);
  at = writeList(buf, at, 2, params);
  at = writeDoubleField(buf, at, 3, meanLoss);
  at = writeScalar(buf, at, 4, ranks);
  at = writeDoubleField(buf, at, 5, serverSeconds);
  at = writeDoubleField(buf, at, 6, applySeconds);
  at = writeScalar(buf, at, 7, checksum);
  if (at !== pos) throw new Error(`encodePushPullResponse: wrote ${at} bytes, sized ${pos}`);
  return buf;
}

/** Encodes a PullResponse like {@link encodePushPullRequest}. */
export function encodePullResponse(m: PullResponse, scratch?: Buffer): Buffer | undefined {
  const version = m.version ?? 0;
  const snapshotTimeMs = m.snapshotTimeMs ?? 0;
  if (!isUint53(version) || !isUint53(snapshotTimeMs)) return undefined;
  const params: TensorPlan[] = [];
  const listEnd = planList(m.params, scalarSize(1, version), params);
  if (listEnd < 0) return undefined;
  const size = listEnd + scalarSize(3, snapshotTimeMs);
  const buf = output(size, scratch);
  let at = writeScalar(buf, 0, 1, version);
  at = writeList(buf, at, 2, params);
  at = writeScalar(buf, at, 3, snapshotTimeMs);
  if (at !== size) throw new Error(`encodePullResponse: wrote ${at} bytes, sized ${size}`);
  return buf;
}

// ----------------------------------------------------------------------------------------- decode

function bufferView(buf: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
}

function readTensor(r: ProtoReader, end: number): Tensor__Output {
  const shape: number[] = [];
  let dtype = 0;
  let dataStart = 0;
  let dataEnd = 0;
  const outer = r.end;
  const inner = new ProtoReader(r.buf, r.pos, end, r.what);
  while (inner.pos < end) {
    const tag = inner.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt === WireType.varint) dtype = inner.uint32() | 0;
        else inner.skip(wt);
        break;
      case 2:
        if (wt === WireType.delimited) {
          const e = inner.delimited();
          while (inner.pos < e) shape.push(inner.uint32());
          if (inner.pos !== e) throw inner.error('packed shape overruns its length');
        } else if (wt === WireType.varint) shape.push(inner.uint32());
        else inner.skip(wt);
        break;
      case 3:
        if (wt === WireType.delimited) {
          dataEnd = inner.delimited();
          dataStart = inner.pos;
          inner.pos = dataEnd;
        } else inner.skip(wt);
        break;
      default:
        inner.skip(wt);
    }
  }
  if (inner.pos !== end || end > outer) throw inner.error('field overruns its length');
  r.pos = end;
  return {
    shape,
    dtype: (DTYPE_NAME[dtype] ?? dtype) as Tensor__Output['dtype'],
    data: dataEnd > dataStart ? bufferView(r.buf, dataStart, dataEnd) : Buffer.alloc(0),
  };
}

function readNamedTensor(r: ProtoReader): NamedTensor__Output {
  const end = r.delimited();
  let name = '';
  let tensor: Tensor__Output | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const no = tag >>> 3;
    if (no === 1 && wt === WireType.delimited) name = r.string();
    else if (no === 2 && wt === WireType.delimited) {
      const e = r.delimited();
      tensor = readTensor(r, e); // replaces an earlier occurrence, as protobufjs does
    } else r.skip(wt);
  }
  if (r.pos !== end) throw r.error('field overruns its length');
  return { name, tensor };
}

function reader(buf: Uint8Array, what: string): ProtoReader {
  return new ProtoReader(buf, 0, buf.length, what);
}

/** Decodes a PushPullRequest exactly as proto-loader would, tensor data as views of `buf`. */
export function decodePushPullRequest(buf: Uint8Array): PushPullRequest__Output {
  const r = reader(buf, 'PushPullRequest');
  const grads: NamedTensor__Output[] = [];
  const states: NamedTensor__Output[] = [];
  let jobId = '';
  let rank = 0;
  let step = 0;
  let sampleCount = 0;
  let lossSum = 0;
  let ackOnly = false;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt === WireType.delimited) jobId = r.string();
        else r.skip(wt);
        break;
      case 2:
        if (wt === WireType.varint) rank = r.uint32();
        else r.skip(wt);
        break;
      case 3:
        if (wt === WireType.varint) step = r.varint();
        else r.skip(wt);
        break;
      case 4:
        if (wt === WireType.varint) sampleCount = r.uint32();
        else r.skip(wt);
        break;
      case 5:
        if (wt === WireType.delimited) grads.push(readNamedTensor(r));
        else r.skip(wt);
        break;
      case 6:
        if (wt === WireType.delimited) states.push(readNamedTensor(r));
        else r.skip(wt);
        break;
      case 7:
        if (wt === WireType.fixed64) lossSum = r.double();
        else r.skip(wt);
        break;
      case 8:
        if (wt === WireType.varint) ackOnly = r.varint() !== 0;
        else r.skip(wt);
        break;
      default:
        r.skip(wt);
    }
  }
  return { grads, states, jobId, rank, step, sampleCount, lossSum, ackOnly };
}

/** Decodes a PushPullResponse exactly as proto-loader would, tensor data as views of `buf`. */
export function decodePushPullResponse(buf: Uint8Array): PushPullResponse__Output {
  const r = reader(buf, 'PushPullResponse');
  const params: NamedTensor__Output[] = [];
  let version = 0;
  let meanLoss = 0;
  let ranks = 0;
  let serverSeconds = 0;
  let applySeconds = 0;
  let paramsChecksum = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const no = tag >>> 3;
    if (no === 1 && wt === WireType.varint) version = r.varint();
    else if (no === 2 && wt === WireType.delimited) params.push(readNamedTensor(r));
    else if (no === 3 && wt === WireType.fixed64) meanLoss = r.double();
    else if (no === 4 && wt === WireType.varint) ranks = r.uint32();
    else if (no === 5 && wt === WireType.fixed64) serverSeconds = r.double();
    else if (no === 6 && wt === WireType.fixed64) applySeconds = r.double();
    else if (no === 7 && wt === WireType.varint) paramsChecksum = r.uint32();
    else r.skip(wt);
  }
  return { params, version, meanLoss, ranks, serverSeconds, applySeconds, paramsChecksum };
}

/** Decodes a PullResponse exactly as proto-loader would, tensor data as views of `buf`. */
export function decodePullResponse(buf: Uint8Array): PullResponse__Output {
  const r = reader(buf, 'PullResponse');
  const params: NamedTensor__Output[] = [];
  let version = 0;
  let snapshotTimeMs = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const no = tag >>> 3;
    if (no === 1 && wt === WireType.varint) version = r.varint();
    else if (no === 2 && wt === WireType.delimited) params.push(readNamedTensor(r));
    else if (no === 3 && wt === WireType.varint) snapshotTimeMs = r.varint();
    else r.skip(wt);
  }
  return { params, version, snapshotTimeMs };
}

// ------------------------------------------------------------------------------------ installation

/**
 * A request already encoded by the caller (into a buffer it reuses): the installed serializer sends
 * `bytes` as they are. The caller must leave `bytes` unchanged until the call has completed (grpc-js
 * copies a client message into its frame a few microtasks after the call starts, and keeps it for
 * transparent retries until the call commits).
 */
export class EncodedMessage {
  constructor(readonly bytes: Buffer) {}
}

/** Largest response kept in the shared server-side scratch buffer; bigger ones get their own. */
const SCRATCH_MAX_BYTES = 64 * 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(0);

/**
 * A process-wide scratch for server responses. Only for a `responseSerialize`: grpc-js copies the
 * returned bytes into its length-prefixed frame before `serialize` returns to it (server-interceptors
 * `serializeMessage`), so the scratch is free again before the next response is encoded. A client
 * message is copied later (after awaits in the filter stack), so requests never use it.
 */
function responseScratch(bytes: number): Buffer | undefined {
  if (bytes > SCRATCH_MAX_BYTES) return undefined;
  if (scratch.length < bytes)
    scratch = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * scratch.length, 64 * 1024));
  return scratch;
}

/** Bytes a response's tensors will take, to size the scratch before encoding. */
function tensorBytes(list: readonly NamedTensor[] | undefined): number {
  let n = 64;
  if (list) {
    for (const nt of list) {
      const d = nt.tensor?.data;
      n += 64 + (nt.name?.length ?? 0) * 3 + (d instanceof Uint8Array ? d.byteLength : 0);
    }
  }
  return n;
}

interface Codecs {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}

const INSTALLED = Symbol('distrain.fastCodecs');

/**
 * Replaces the (de)serializers of `ParameterServerService.PushPull` and `.Pull` in a loaded package
 * definition with the hand-written codecs (small messages stay with protobufjs). Idempotent; returns
 * the definition. Anything the fast encoders do not handle falls back to the original serializer.
 */
export function installPsCodecs(def: PackageDefinition): PackageDefinition {
  const service = def['distrain.v1.ParameterServerService'] as unknown as Record<string, Codecs> | undefined;
  if (!service) return def;
  const pushPull = service.PushPull;
  const pull = service.Pull;
  if (!pushPull || !pull || (pushPull as unknown as Record<symbol, boolean>)[INSTALLED]) return def;
  const ppReq = pushPull.requestSerialize.bind(pushPull);
  const ppRes = pushPull.responseSerialize.bind(pushPull);
  const pullRes = pull.responseSerialize.bind(pull);
  pushPull.requestSerialize = (v) => {
    if (v instanceof EncodedMessage) return v.bytes;
    return encodePushPullRequest(v as PushPullRequest) ?? ppReq(v);
  };
  pushPull.requestDeserialize = (b) => decodePushPullRequest(b);
  pushPull.responseSerialize = (v) => {
    const m = v as PushPullResponse;
    return encodePushPullResponse(m, responseScratch(tensorBytes(m.params))) ?? ppRes(v);
  };
  pushPull.responseDeserialize = (b) => decodePushPullResponse(b);
  pull.responseSerialize = (v) => {
    const m = v as PullResponse;
    return encodePullResponse(m, responseScratch(tensorBytes(m.params))) ?? pullRes(v);
  };
  pull.responseDeserialize = (b) => decodePullResponse(b);
  (pushPull as unknown as Record<symbol, boolean>)[INSTALLED] = true;
  return def;
}
