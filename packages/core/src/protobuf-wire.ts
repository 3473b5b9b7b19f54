import { ValidationError } from './errors.ts';

/**
 * Protobuf wire-format primitives for the hand-written codecs of tensor-heavy messages (the
 * parameter server's PushPull/Pull, the data-loader's StreamBatchesResponse): the one wire toolkit
 * (writers, a reader, the DType table). Only what
 * proto3 messages of scalars, strings, bytes and sub-messages need: varints, length-delimited
 * fields, fixed64 doubles, and skipping unknown fields of any wire type.
 */

/** tensor.proto `DType`: the one table of wire numbers, element types and sizes. */
export const DTYPE_WIRE = { float32: 1, int32: 2, uint8: 3 } as const;
/** Element type of a wire `DType` number. */
export const DTYPE_BY_WIRE: Readonly<Record<number, keyof typeof DTYPE_WIRE>> = {
  1: 'float32',
  2: 'int32',
  3: 'uint8',
};
/** Enum names of the wire `DType` numbers, as proto-loader gives them (`enums: String`). */
export const DTYPE_ENUM_NAMES = ['DTYPE_UNSPECIFIED', 'DTYPE_FLOAT32', 'DTYPE_INT32', 'DTYPE_UINT8'] as const;
/** Bytes per element. */
export const DTYPE_BYTES: Readonly<Record<keyof typeof DTYPE_WIRE, number>> = {
  float32: 4,
  int32: 4,
  uint8: 1,
};

/** Wire types. */
export const WireType = { varint: 0, fixed64: 1, delimited: 2, fixed32: 5 } as const;

/** Bytes of the varint encoding of a non-negative integer (exact up to 2^53). */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  v = Math.floor(v / 0x800000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

/** Writes a non-negative integer (exact up to 2^53) as a varint at `pos`; returns the next position. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80; // `&` takes the low 32 bits, enough for the low 7
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Bytes of a field key (tag) of field number `field`. */
export function tagSize(field: number): number {
  return varintSize(field * 8);
}

/** Writes the key of field `field` with wire type `wireType`; returns the next position. */
export function writeTag(buf: Uint8Array, pos: number, field: number, wireType: number): number {
  return writeVarint(buf, pos, field * 8 + wireType);
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

/** Writes a little-endian double at `pos`; returns the next position. */
export function writeDouble(buf: Uint8Array, pos: number, v: number): number {
  f64[0] = v;
  buf.set(f64Bytes, pos);
  return pos + 8;
}

/** Bytes of a UTF-8 string. */
export function utf8Size(s: string): number {
  // ASCII fast path: names and ids are ASCII in practice.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Writes a string of `bytes` UTF-8 bytes (from {@link utf8Size}) at `pos`; returns the next position. */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, bytes: number): number {
  if (bytes === s.length) {
    for (let i = 0; i < bytes; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).write(s, pos, bytes, 'utf8');
  }
  return pos + bytes;
}

/**
 * Cursor over one protobuf message (or a delimited part of one). Reads any valid encoding; a
 * truncated or malformed message throws a ValidationError naming `what`.
 */
export class ProtoReader {
  /** Next byte to read. */
  pos: number;

  /**
   * @param buf the bytes
   * @param start first byte of the message
   * @param end one past its last byte
   * @param what message name for errors, e.g. `PushPullRequest`
   */
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly what: string,
  ) {
    this.pos = start;
  }

  /** A non-negative varint as a Number (exact up to 2^53, like proto-loader's `longs: Number`). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.error('truncated varint');
      const b = buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw this.error('varint too long');
  }

  /** A varint truncated to its low 32 bits, unsigned (how protobuf decoders read uint32 and enums). */
  uint32(): number {
    const buf = this.buf;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.error('truncated varint');
      const b = buf[this.pos++] as number;
      if (i < 5) result = (result | ((b & 0x7f) << (7 * i))) >>> 0;
      if (b < 0x80) return result;
    }
    throw this.error('varint too long');
  }

  /** A little-endian double. */
  double(): number {
    if (this.pos + 8 > this.end) throw this.error('truncated double');
    f64Bytes.set(this.buf.subarray(this.pos, this.pos + 8));
    this.pos += 8;
    return f64[0] as number;
  }

  /** Reads a length prefix and returns the end of the delimited bytes (the cursor is at their start). */
  delimited(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw this.error('truncated field');
    return end;
  }

  /** A length-delimited UTF-8 string. */
  string(): string {
    const end = this.delimited();
    const start = this.pos;
    this.pos = end;
    const buf = this.buf;
    let ascii = true;
    for (let i = start; i < end; i++) {
      if ((buf[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii && end - start < 64) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i] as number);
      return s;
    }
    return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
  }

  /** Skips the value of a field of wire type `wireType`. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.varint:
        this.varint();
        return;
      case WireType.fixed64:
        this.pos += 8;
        break;
      case WireType.delimited:
        this.pos = this.delimited();
        return;
      case 3: {
        // A group (deprecated, but valid protobuf): skip fields up to its end-group key.
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7);
        }
      }
      case WireType.fixed32:
        this.pos += 4;
        break;
      default:
        throw this.error(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw this.error('truncated field');
  }

  /** A ValidationError naming the message. */
  error(why: string): ValidationError {
    return new ValidationError(this.what, `${why} at byte ${this.pos}`);
  }
}
