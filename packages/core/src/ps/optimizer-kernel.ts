// Over 400 lines: the kernels' emitter and the arena that runs them share the kernels' 17-argument calling convention; apart, both would spell it out.
/**
 * WebAssembly SIMD kernels of the fused optimizer update (SGD, momentum, Nesterov, Adam; one or two
 * rank-ordered gradient sums), and the arena whose memory holds the arrays they update.
 *
 * The arithmetic is the JS loop's, operation for operation, in double precision (f64x2: two
 * elements per instruction, loaded as float32 and promoted, demoted when stored), so results are
 * bit-for-bit those of the plain loops in optimizers.ts (no fused multiply-add in either). Arrays
 * the kernel updates must live in the arena's memory: a job allocates its parameters and slots
 * there once ({@link OptimizerArena.alloc}); gradients that arrive elsewhere are copied into the
 * arena's staging area first (one memcpy, cheaper than the update it feeds).
 */
import { F64, FunctionBuilder, I32, SIMD, V128, Wasm, emitModule } from './wasm-emit.ts';
import type { ValType, WasmMemory } from './wasm-emit.ts';

const PAGE = 65536;
/** wasm32 memories stop at 4 GiB; larger jobs keep plain arrays (the JS loops). */
const MAX_ARENA_BYTES = 65536 * PAGE - PAGE;

/** The per-step constants of one update, in the kernels' parameter order. */
export interface KernelConstants {
  decay: number;
  scale: number;
  lr: number;
  mu: number;
  b1: number;
  b2: number;
  o1: number;
  o2: number;
  c1: number;
  c2: number;
  eps: number;
}

type Kernel = (
  p: number,
  m: number,
  v: number,
  a: number,
  b: number,
  groups: number,
  decay: number,
  scale: number,
  lr: number,
  mu: number,
  b1: number,
  b2: number,
  o1: number,
  o2: number,
  c1: number,
  c2: number,
  eps: number,
) => void;

export type KernelName = 'sgd' | 'momentum' | 'nesterov' | 'adam';
const KERNELS: readonly KernelName[] = ['sgd', 'momentum', 'nesterov', 'adam'];

// Parameters: pointers p, m, v, a, b (bytes), groups of 4 elements, then the f64 constants.
const P = 0;
const M = 1;
const V = 2;
const A = 3;
const B = 4;
const N = 5;
const CONSTANTS = ['decay', 'scale', 'lr', 'mu', 'b1', 'b2', 'o1', 'o2', 'c1', 'c2', 'eps'] as const;
type ConstantName = (typeof CONSTANTS)[number];

/**
 * Gradient inputs of a kernel: one rank's float32 sums (`1`), two ranks' added in rank order (`2`),
 * or float64 sums of three or more ranks already added in rank order by the caller (`N`).
 */
type Inputs = '1' | '2' | 'N';

function buildKernel(kind: KernelName, inputs: Inputs): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, ...CONSTANTS.map((): ValType => F64)], []);
  // Each f64 constant splatted once into a v128 local.
  const c = {} as Record<ConstantName, number>;
  for (const [i, k] of CONSTANTS.entries()) {
    c[k] = f.local(V128);
    f.get(N + 1 + i)
      .simd(SIMD.f64x2Splat)
      .set(c[k]);
  }
  const g = f.local(V128);
  // SGD's step size lr * scale, computed once as the JS loop does.
  const step = f.local(V128);
  f.get(c.lr).get(c.scale).simd(SIMD.f64x2Mul).set(step);
  const mm = f.local(V128);
  const vv = f.local(V128);
  const load = (ptr: number, off: number): void => {
    f.get(ptr).mem(SIMD.load64Zero, 3, off).simd(SIMD.f64x2PromoteLowF32x4);
  };
  /** Stores the f64x2 on the stack (demoted) at ptr + off; the address must be pushed first. */
  const storeTop = (off: number): void => {
    f.simd(SIMD.f32x4DemoteF64x2Zero).mem(SIMD.store64Lane, 3, off, 0);
  };
  const add = (): void => void f.simd(SIMD.f64x2Add);
  const sub = (): void => void f.simd(SIMD.f64x2Sub);
  const mul = (): void => void f.simd(SIMD.f64x2Mul);
  // Two elements at byte offset `off` of every pointer.
  const body = (off: number): void => {
    // g = a (+ b): the rank-ordered sum, unscaled.
    if (inputs === 'N') f.get(A).mem(SIMD.load, 4, 2 * off);
    else load(A, off);
    if (inputs === '2') {
      load(B, off);
      add();
    }
    switch (kind) {
      case 'sgd':
        // p = p * decay - (lr * scale) * g
        f.set(g).get(P);
        load(P, off);
        f.get(c.decay);
        mul();
        f.get(step).get(g);
        mul();
        sub();
        storeTop(off);
        return;
      case 'momentum':
      case 'nesterov':
        // g *= scale; mm = mu * m + g
        f.get(c.scale);
        mul();
        f.set(g).get(c.mu);
        load(M, off);
        mul();
        f.get(g);
        add();
        f.set(mm).get(M).get(mm);
        storeTop(off);
        f.get(P);
        load(P, off);
        f.get(c.decay);
        mul();
        f.get(c.lr);
        if (kind === 'nesterov') {
          // lr * (g + mu * mm)
          f.get(g).get(c.mu).get(mm);
          mul();
          add();
        } else f.get(mm);
        mul();
        sub();
        storeTop(off);
        return;
      case 'adam':
        // g *= scale; mm = b1 * m + o1 * g; vv = b2 * v + o2 * g * g
        f.get(c.scale);
        mul();
        f.set(g).get(c.b1);
        load(M, off);
        mul();
        f.get(c.o1).get(g);
        mul();
        add();
        f.set(mm).get(c.b2);
        load(V, off);
        mul();
        f.get(c.o2).get(g);
        mul();
        f.get(g);
        mul();
        add();
        f.set(vv);
        f.get(M).get(mm);
        storeTop(off);
        f.get(V).get(vv);
        storeTop(off);
        // p = p * decay - (c1 * mm) / (sqrt(vv * c2) + eps)
        f.get(P);
        load(P, off);
        f.get(c.decay);
        mul();
        f.get(c.c1).get(mm);
        mul();
        f.get(vv).get(c.c2);
        mul();
        f.simd(SIMD.f64x2Sqrt).get(c.eps);
        add();
        f.simd(SIMD.f64x2Div);
        sub();
        storeTop(off);
        return;
    }
  };
  f.op(0x02, 0x40, 0x03, 0x40); // block, loop
  f.get(N).op(0x45, 0x0d, 1); // groups == 0: break
  body(0);
  body(8);
  for (const ptr of [P, M, V, B]) f.get(ptr).i32Const(16).op(0x6a).set(ptr);
  f.get(A)
    .i32Const(inputs === 'N' ? 32 : 16)
    .op(0x6a)
    .set(A);
  f.get(N).i32Const(1).op(0x6b).set(N);
  f.op(0x0c, 0, 0x0b, 0x0b); // br loop; end loop; end block
  return f;
}

/**
 * `nonFinite(ptr, groups) -> i32`: 1 when some float32 of `groups` groups of 4 at `ptr` is NaN or
 * infinite (exponent bits all ones), else 0. One SIMD pass, no branch per element.
 */
function buildNonFinite(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32], [I32]);
  const acc = f.local(V128);
  const exp = f.local(V128);
  f.i32Const(0x7f800000).simd(SIMD.i32x4Splat).set(exp);
  f.op(0x02, 0x40, 0x03, 0x40); // block, loop
  f.get(1).op(0x45, 0x0d, 1); // groups == 0: break
  f.get(acc).get(0).mem(SIMD.load, 4, 0).get(exp).simd(SIMD.v128And).get(exp).simd(SIMD.i32x4Eq);
  f.simd(SIMD.v128Or).set(acc);
  f.get(0).i32Const(16).op(0x6a).set(0);
  f.get(1).i32Const(1).op(0x6b).set(1);
  f.op(0x0c, 0, 0x0b, 0x0b); // br loop; end loop; end block
  f.get(acc).simd(SIMD.anyTrue);
  return f;
}

/**
 * `checksum(ptr, groups) -> i32`: the sum modulo 2^32 of the float32 bit patterns (as int32) of
 * `groups` groups of 4 at `ptr`: four lanes of wrapping adds, then the lanes added.
 */
function buildChecksum(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32], [I32]);
  const acc = f.local(V128);
  f.op(0x02, 0x40, 0x03, 0x40); // block, loop
  f.get(1).op(0x45, 0x0d, 1); // groups == 0: break
  f.get(acc).get(0).mem(SIMD.load, 4, 0).simd(SIMD.i32x4Add).set(acc);
  f.get(0).i32Const(16).op(0x6a).set(0);
  f.get(1).i32Const(1).op(0x6b).set(1);
  f.op(0x0c, 0, 0x0b, 0x0b); // br loop; end loop; end block
  f.get(acc).simd(SIMD.i32x4ExtractLane, 0);
  f.get(acc).simd(SIMD.i32x4ExtractLane, 1).op(0x6a);
  f.get(acc).simd(SIMD.i32x4ExtractLane, 2).op(0x6a);
  f.get(acc).simd(SIMD.i32x4ExtractLane, 3).op(0x6a);
  return f;
}

let compiled: object | undefined;

function kernelModule(): object {
  if (compiled === undefined) {
    const functions = KERNELS.flatMap((k) => [
      { name: `${k}1`, fn: buildKernel(k, '1') },
      { name: `${k}2`, fn: buildKernel(k, '2') },
      { name: `${k}N`, fn: buildKernel(k, 'N') },
    ]);
    functions.push({ name: 'nonFinite', fn: buildNonFinite() });
    functions.push({ name: 'checksum', fn: buildChecksum() });
    compiled = new Wasm.Module(emitModule(functions));
  }
  return compiled;
}

/** Elements rounded up to whole groups of 4 (the kernels' unit; the padding is never read back). */
function padded(n: number): number {
  return (n + 3) & ~3;
}

/** Elements per block of {@link OptimizerArena.sums} (a multiple of 4). */
export const SUM_BLOCK = 2048;

const arenas = new WeakMap<ArrayBufferLike, OptimizerArena>();

/**
 * One fixed-size WebAssembly memory holding a job's parameters and optimizer slots (allocated once,
 * never grown: views stay valid) plus a staging area for the gradients of up to two ranks.
 */
export class OptimizerArena {
  readonly memory: WasmMemory;
  private readonly kernels: Record<`${KernelName}${Inputs}`, Kernel> & {
    nonFinite(ptr: number, groups: number): number;
    checksum(ptr: number, groups: number): number;
  };
  private next = 0;
  private readonly limit: number;
  /** Byte offsets of the two staging areas (each `stageElements` long). */
  private readonly stageAt: [number, number];
  /**
   * Float64 block of {@link SUM_BLOCK} rank-ordered gradient sums (three or more ranks), filled by
   * the caller before {@link runSums}.
   */
  readonly sums: Float64Array;

  private constructor(
    bytes: number,
    readonly stageElements: number,
  ) {
    this.memory = new Wasm.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    const instance = new Wasm.Instance(kernelModule(), { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as OptimizerArena['kernels'];
    const stageBytes = padded(stageElements) * 4;
    this.stageAt = [0, stageBytes];
    this.sums = new Float64Array(this.memory.buffer, 2 * stageBytes, SUM_BLOCK);
    this.next = 2 * stageBytes + SUM_BLOCK * 8;
    this.limit = bytes;
    arenas.set(this.memory.buffer, this);
  }

  /**
   * An arena for `elements` float32 values in `arrays` separate arrays (each padded to 16 bytes),
   * staging gradients of up to `stageElements`; undefined when that exceeds a wasm32 memory.
   */
  static create(elements: number, arrays: number, stageElements: number): OptimizerArena | undefined {
    const bytes = (elements + 3 * arrays + 2 * padded(stageElements) + 2 * SUM_BLOCK + 8) * 4;
    if (!(bytes <= MAX_ARENA_BYTES)) return undefined;
    return new OptimizerArena(bytes, stageElements);
  }

  /** Frees every allocation (the scratch arena of {@link scratchArena}). */
  reset(): void {
    this.next = this.stageAt[1] * 2 + SUM_BLOCK * 8;
  }

  /** Whether `elements` more values in `arrays` arrays fit. */
  fits(elements: number, arrays: number): boolean {
    return this.next + (elements + 3 * arrays) * 4 <= this.limit;
  }

  /** A zeroed Float32Array of `n` elements in the arena (16-byte aligned). */
  alloc(n: number): Float32Array {
    const bytes = padded(n) * 4;
    if (this.next + bytes > this.limit)
      throw new RangeError(`optimizer arena full: ${n} more elements do not fit`);
    const view = new Float32Array(this.memory.buffer, this.next, n);
    this.next += bytes;
    return view;
  }

  /**
   * Whether arena array `a` holds a NaN or an infinity (one SIMD pass; the padding after an array
   * is never written by anything but zeros, so it never counts).
   */
  hasNonFinite(a: Float32Array): boolean {
    if (a.buffer !== this.memory.buffer) throw new RangeError('not an array of this arena');
    return this.kernels.nonFinite(a.byteOffset, padded(a.length) >>> 2) !== 0;
  }

  /**
   * The sum modulo 2^32 of the bit patterns (as int32) of arena array `a` (one SIMD pass; the
   * padding holds zeros, which add nothing).
   */
  checksum(a: Float32Array): number {
    if (a.buffer !== this.memory.buffer) throw new RangeError('not an array of this arena');
    return this.kernels.checksum(a.byteOffset, padded(a.length) >>> 2);
  }

  /** The arena owning `a`'s memory, if any. */
  static of(a: Float32Array): OptimizerArena | undefined {
    return arenas.get(a.buffer);
  }

  private pointer(a: Float32Array, stage: 0 | 1): number {
    if (a.buffer === this.memory.buffer) return a.byteOffset;
    if (a.length > this.stageElements) throw new RangeError('gradient larger than the staging area');
    const at = this.stageAt[stage];
    const staged = new Float32Array(this.memory.buffer, at, padded(a.length));
    staged.set(a);
    // The kernels read whole groups of 4: the group's tail must be zeros, not an earlier gradient's
    // values, or they would reach the padding of an arena array (its checksum, hasNonFinite).
    staged.fill(0, a.length);
    return at;
  }

  /**
   * Runs kernel `kind` over elements `start .. start + len` of arena arrays `p`, `m`, `v` (unused
   * slots: pass `p`; `start` a multiple of 4) with the float64 gradient sums in {@link sums}.
   */
  runSums(
    kind: KernelName,
    p: Float32Array,
    m: Float32Array,
    v: Float32Array,
    start: number,
    len: number,
    k: KernelConstants,
  ): void {
    const at = start * 4;
    this.kernels[`${kind}N`](
      p.byteOffset + at,
      m.byteOffset + at,
      v.byteOffset + at,
      this.sums.byteOffset,
      0,
      padded(len) >>> 2,
      k.decay,
      k.scale,
      k.lr,
      k.mu,
      k.b1,
      k.b2,
      k.o1,
      k.o2,
      k.c1,
      k.c2,
      k.eps,
    );
  }

  /**
   * Runs kernel `kind` over `n` elements: `p`, `m`, `v` must be arena arrays (unused slots: pass
   * `p`), `a` and optional `b` are copied to the staging area unless they are arena arrays.
   */
  run(
    kind: KernelName,
    p: Float32Array,
    m: Float32Array,
    v: Float32Array,
    a: Float32Array,
    b: Float32Array | undefined,
    k: KernelConstants,
  ): void {
    const pa = this.pointer(a, 0);
    const pb = b === undefined ? pa : this.pointer(b, 1);
    const fn = this.kernels[`${kind}${b === undefined ? 1 : 2}`];
    fn(
      p.byteOffset,
      m.byteOffset,
      v.byteOffset,
      pa,
      pb,
      padded(p.length) >>> 2,
      k.decay,
      k.scale,
      k.lr,
      k.mu,
      k.b1,
      k.b2,
      k.o1,
      k.o2,
      k.c1,
      k.c2,
      k.eps,
    );
  }
}

let scratch: OptimizerArena | undefined;

/**
 * A reset arena with room for `arrays` arrays of `n` elements and the staging of `n`-element
 * gradients: where arrays from elsewhere (the in-process reference loop's) are copied to be updated.
 * Undefined when that exceeds a wasm32 memory.
 */
export function scratchArena(n: number, arrays: number): OptimizerArena | undefined {
  if (
    scratch === undefined ||
    scratch.stageElements < n ||
    !(scratch.reset(), scratch.fits(n * arrays, arrays))
  ) {
    const most = Math.max(n, scratch?.stageElements ?? 0);
    scratch = OptimizerArena.create(most * arrays, arrays, most);
  }
  return scratch;
}
