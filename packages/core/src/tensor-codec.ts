import type { Tensor, Tensor__Output } from './generated/distrain/v1/Tensor.ts';
import { ValidationError } from './errors.ts';

/** Element types distrain puts on the wire. */
export const DTypes = { float32: 'DTYPE_FLOAT32', int32: 'DTYPE_INT32', uint8: 'DTYPE_UINT8' } as const;
/** Wire name of a dtype. */
export type WireDType = (typeof DTypes)[keyof typeof DTypes];
/** Short name of a dtype, as tfjs spells it. */
export type DTypeName = keyof typeof DTypes;

/** A typed array of one of the wire dtypes. */
export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** A decoded tensor: dtype, shape and a typed view of the elements. */
export interface HostTensor<T extends TypedArray = TypedArray> {
  dtype: DTypeName;
  shape: number[];
  data: T;
}

const BYTES: Record<DTypeName, number> = { float32: 4, int32: 4, uint8: 1 };

function dtypeOf(data: TypedArray): DTypeName {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// Typed arrays view memory in the platform's byte order; every platform Node runs on for us is
// little-endian, which is what the wire format requires. Checked once at load.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('distrain needs a little-endian platform (the wire format is raw little-endian)');
}

/**
 * Encodes a typed array as a wire Tensor without copying: `data` is a Buffer view of the same memory.
 * Inverse of {@link decodeTensor}.
 */
export function encodeTensor(data: TypedArray, shape: readonly number[]): Tensor {
  if (sizeOf(shape) !== data.length) {
    throw new ValidationError(
      'tensor.shape',
      `shape [${shape.join(',')}] has ${sizeOf(shape)} elements but data has ${data.length}`,
    );
  }
  return {
    dtype: DTypes[dtypeOf(data)],
    shape: [...shape],
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * Decodes a wire Tensor. Raw bytes are viewed in place when aligned; a Buffer that gRPC hands us at
 * an offset not divisible by the element size is copied once into aligned memory (tfjs io_utils does
 * the same). Unknown dtypes and size mismatches are rejected with a ValidationError naming `field`.
 */
export function decodeTensor(t: Tensor__Output | Tensor, field = 'tensor'): HostTensor {
  const name = dtypeName(t.dtype, field);
  const shape = (t.shape ?? []).map(Number);
  const raw = toBytes(t.data);
  const bytesPer = BYTES[name];
  const expected = sizeOf(shape) * bytesPer;
  if (raw.byteLength !== expected) {
    throw new ValidationError(
      `${field}.data`,
      `has ${raw.byteLength} bytes but shape [${shape.join(',')}] of ${name} needs ${expected}`,
    );
  }
  return { dtype: name, shape, data: view(name, raw) };
}

/** Decodes a float32 wire Tensor, rejecting any other dtype. */
export function decodeFloat32(t: Tensor__Output | Tensor, field = 'tensor'): HostTensor<Float32Array> {
  const h = decodeTensor(t, field);
  if (!(h.data instanceof Float32Array)) {
    throw new ValidationError(`${field}.dtype`, `must be DTYPE_FLOAT32, got ${h.dtype}`);
  }
  return h as HostTensor<Float32Array>;
}

function dtypeName(dtype: Tensor['dtype'], field: string): DTypeName {
  switch (dtype) {
    case 'DTYPE_FLOAT32':
    case 1:
      return 'float32';
    case 'DTYPE_INT32':
    case 2:
      return 'int32';
    case 'DTYPE_UINT8':
    case 3:
      return 'uint8';
    default:
      throw new ValidationError(
        `${field}.dtype`,
        `unknown dtype ${String(dtype)}; use DTYPE_FLOAT32, DTYPE_INT32 or DTYPE_UINT8`,
      );
  }
}

function toBytes(data: Tensor['data']): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  return data;
}

function view(name: DTypeName, raw: Uint8Array): TypedArray {
  if (name === 'uint8') return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const aligned = raw.byteOffset % 4 === 0 ? raw : new Uint8Array(raw); // copy realigns to offset 0
  const n = aligned.byteLength / 4;
  return name === 'float32'
    ? new Float32Array(aligned.buffer, aligned.byteOffset, n)
    : new Int32Array(aligned.buffer, aligned.byteOffset, n);
}
