import { DistrainError, ValidationError } from '../errors.ts';
import { sizeOf } from '../tensor-codec.ts';
import type { HostTensor } from '../tensor-codec.ts';
import type { DataBatch } from './batch-stream.ts';
import { DTYPE_BY_WIRE, DTYPE_BYTES, ProtoReader } from '../protobuf-wire.ts';

const MESSAGE = 'StreamBatchesResponse';

/**
 * Hand-written protobuf decoder for `distrain.v1.StreamBatchesResponse`, straight into a
 * {@link DataBatch}: tensors are views of the received Buffer (uint8 features are never copied;
 * 4-byte data is copied only when it lies at an unaligned offset, which the data-loader's
 * `alignment_padding` avoids for the buffers grpc-js hands over), indices go straight into a
 * Uint32Array of the exact size. It reads any valid encoding (unknown fields skipped, packed or
 * unpacked repeated fields), so it stays correct if the message grows; the test checks it against
 * protobufjs. Per batch it allocates the DataBatch, two tensor records with their shapes, and the
 * indices; nothing proportional to the features.
 */

/** The `lengths` of batches without any (every non-text batch): one shared empty array. */
const NO_LENGTHS = new Uint32Array(0);

/** Appends one or more uint32 values (packed or not) of a repeated field to `out`. */
function readRepeated(r: ProtoReader, wireType: number, out: number[]): void {
  if (wireType === 2) {
    const end = r.delimited();
    const inner = new ProtoReader(r.buf, r.pos, end, MESSAGE);
    while (inner.pos < end) out.push(inner.varint());
    r.pos = end;
  } else {
    out.push(r.varint());
  }
}

function readTensor(r: ProtoReader, end: number, field: string): HostTensor {
  let dtype = 0;
  const shape: number[] = [];
  let dataStart = 0;
  let dataEnd = 0;
  const inner = new ProtoReader(r.buf, r.pos, end, MESSAGE);
  while (inner.pos < end) {
    const tag = inner.varint();
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    if (no === 1 && wt === 0) dtype = inner.varint();
    else if (no === 2) readRepeated(inner, wt, shape);
    else if (no === 3 && wt === 2) {
      dataEnd = inner.delimited();
      dataStart = inner.pos;
      inner.pos = dataEnd;
    } else inner.skip(wt);
  }
  r.pos = end;
  const name = DTYPE_BY_WIRE[dtype];
  if (name === undefined)
    throw new ValidationError(
      `${field}.dtype`,
      `unknown dtype ${dtype}; use DTYPE_FLOAT32, DTYPE_INT32 or DTYPE_UINT8`,
    );
  const bytes = dataEnd - dataStart;
  const expected = sizeOf(shape) * DTYPE_BYTES[name];
  if (bytes !== expected) {
    throw new ValidationError(
      `${field}.data`,
      `has ${bytes} bytes but shape [${shape.join(',')}] of ${name} needs ${expected}`,
    );
  }
  const buf = r.buf;
  const offset = buf.byteOffset + dataStart;
  if (name === 'uint8') return { dtype: name, shape, data: new Uint8Array(buf.buffer, offset, bytes) };
  // 4-byte views need an aligned offset; gRPC frames start anywhere, so copy when they do not line up.
  // (Buffer#slice would be a view, so copy explicitly.)
  const aligned = offset % 4 === 0 ? buf.buffer : new Uint8Array(buf.subarray(dataStart, dataEnd)).buffer;
  const at = offset % 4 === 0 ? offset : 0;
  const data =
    name === 'float32' ? new Float32Array(aligned, at, bytes / 4) : new Int32Array(aligned, at, bytes / 4);
  return { dtype: name, shape, data };
}

/** Decodes one StreamBatchesResponse message into a {@link DataBatch}. */
export function decodeBatchMessage(buf: Uint8Array): DataBatch {
  const r = new ProtoReader(buf, 0, buf.length, MESSAGE);
  let epoch = 0;
  let step = 0;
  let stepsInEpoch = 0;
  let globalBatchSize = 0;
  let offset = 0;
  let features: HostTensor | null = null;
  let labels: HostTensor | null = null;
  let indices: Uint32Array | null = null;
  let loose: number[] | null = null;
  let lengths: number[] | null = null;
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    switch (no) {
      case 1:
      case 2:
      case 3:
      case 4:
      case 8: {
        if (wt !== 0) {
          r.skip(wt);
          break;
        }
        const v = r.varint();
        if (no === 1) epoch = v;
        else if (no === 2) step = v;
        else if (no === 3) stepsInEpoch = v;
        else if (no === 4) globalBatchSize = v;
        else offset = v;
        break;
      }
      case 5:
      case 6: {
        if (wt !== 2) {
          r.skip(wt);
          break;
        }
        const end = r.delimited();
        const t = readTensor(r, end, no === 5 ? 'features' : 'labels');
        if (no === 5) features = t;
        else labels = t;
        break;
      }
      case 7:
        if (wt === 2 && indices === null && loose === null) {
          // The usual case: one packed run, decoded straight into a typed array of the exact size
          // (one value ends at each byte without the continuation bit).
          const end = r.delimited();
          let n = 0;
          for (let i = r.pos; i < end; i++) if ((buf[i] as number) < 0x80) n++;
          const out = new Uint32Array(n);
          const inner = new ProtoReader(buf, r.pos, end, MESSAGE);
          for (let k = 0; k < n; k++) out[k] = inner.varint();
          if (inner.pos !== end) inner.varint(); // a truncated last value: throws naming the message
          indices = out;
          r.pos = end;
        } else {
          loose ??= indices ? [...indices] : [];
          indices = null;
          readRepeated(r, wt, loose);
        }
        break;
      case 9:
        readRepeated(r, wt, (lengths ??= []));
        break;
      default:
        r.skip(wt);
    }
  }
  if (features === null || labels === null)
    throw new DistrainError('data-loader sent a batch without features or labels', { step });
  const idx = loose ? Uint32Array.from(loose) : (indices ?? new Uint32Array(0));
  return {
    epoch,
    step,
    stepsInEpoch,
    globalBatchSize,
    offset,
    features,
    labels,
    indices: idx,
    lengths: lengths === null ? NO_LENGTHS : Uint32Array.from(lengths),
    wireBytes: buf.length,
  };
}
