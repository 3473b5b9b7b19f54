/**
 * A minimal WebAssembly binary emitter: just what the optimizer kernels need (one imported memory,
 * functions of i32/f64 parameters, i32/f64/v128 locals, loops, and the 128-bit SIMD opcodes used).
 * Kernels are written as TypeScript that emits bytes, so there is no build step and no committed
 * binary; the module is validated by the engine when it is compiled.
 */

/** The part of the WebAssembly JS API used here (the TypeScript libs of this project lack it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F64 | typeof V128;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** SIMD opcodes (0xfd prefix) used by the kernels. */
export const SIMD = {
  load: 0x00,
  store: 0x0b,
  f64x2Splat: 0x14,
  i32x4Splat: 0x11,
  load64Zero: 0x5d,
  store64Lane: 0x5b,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  v128And: 0x4e,
  v128Or: 0x50,
  anyTrue: 0x53,
  i32x4Add: 0xae,
  i32x4Eq: 0x37,
  i32x4ExtractLane: 0x1b,
} as const;

/** Builds one function body. Locals are numbered after the parameters. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** Declares a local; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  get(i: number): this {
    this.code.push(0x20, ...uleb(i));
    return this;
  }
  set(i: number): this {
    this.code.push(0x21, ...uleb(i));
    return this;
  }
  i32Const(n: number): this {
    this.code.push(0x41, ...sleb(n));
    return this;
  }
  /** Raw opcodes (i32.add 0x6a, i32.lt_u 0x49, ...). */
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  simd(opcode: number, ...immediates: number[]): this {
    this.code.push(0xfd, ...uleb(opcode), ...immediates);
    return this;
  }
  /** A SIMD memory access: `align` is log2 of the alignment hint, `offset` a byte offset. */
  mem(opcode: number, align: number, offset: number, lane?: number): this {
    this.code.push(0xfd, ...uleb(opcode), ...uleb(align), ...uleb(offset));
    if (lane !== undefined) this.code.push(lane);
    return this;
  }

  /** `{type, locals, body}` entry of the code section. */
  encode(): number[] {
    const groups: number[][] = this.localTypes.map((t) => [1, t]);
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** A module importing `env.memory` (of at least `minPages` pages) and exporting `functions`. */
export function emitModule(functions: ReadonlyArray<{ name: string; fn: FunctionBuilder }>): Uint8Array {
  const types = functions.map(({ fn }) => [
    0x60,
    ...vec(fn.params.map((t) => [t])),
    ...vec(fn.results.map((t) => [t])),
  ]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map(({ name: n }, i) => [...name(n), 0x00, ...uleb(i)]))),
    ...section(10, vec(functions.map(({ fn }) => fn.encode()))),
  ];
  return Uint8Array.from(bytes);
}
