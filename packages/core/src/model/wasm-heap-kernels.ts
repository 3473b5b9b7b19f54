import * as tf from '@tensorflow/tfjs';
import type { DataType, KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/*
 * Kernels for tfjs-backend-wasm written in JavaScript that read and write the wasm heap directly
 * (no copies in or out). They do the memory-bound work that the wasm package does slowly or not at
 * all, around XNNPACK's fast matrix products. Scalar JS loops run ~10x slower per element than the
 * package's SIMD kernels here, so they are used only where the alternative is worse:
 *
 * - `MaxPoolGrad`: replaces the package's kernel (~30 ms for a [64, 26, 26, 32] input).
 * - `DistrainIm2ColT` / `DistrainCol2Im`: the patch matrix of a convolution (transposed) and its
 *   adjoint, so convolution gradients become one plain matMul each (see wasm-kernels.ts).
 *
 * Views of the heap are taken after every allocation of a call: growing the wasm memory detaches
 * older views.
 */

const BACKEND = 'wasm';

/** The parts of tfjs-backend-wasm's `BackendWasm` these kernels use (public methods of the class). */
interface HeapBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function heapBackend(backend: unknown): HeapBackend {
  const b = backend as Partial<HeapBackend> | null;
  if (b === null || typeof b.makeOutput !== 'function' || typeof b.typedArrayFromHeap !== 'function') {
    throw new Error('wasm heap kernel: the backend is not tfjs-backend-wasm');
  }
  return b as HeapBackend;
}

function f32(backend: HeapBackend, t: TensorInfo, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`wasm heap kernel: ${what} must be float32, got ${t.dtype}`);
  const a = backend.typedArrayFromHeap(t);
  if (!(a instanceof Float32Array)) throw new Error(`wasm heap kernel: ${what} is not float32 on the heap`);
  return a;
}

function input(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`wasm heap kernel: missing input ${name}`);
  return t;
}

function num(attrs: NamedAttrMap, name: string): number {
  const v = attrs[name];
  if (typeof v !== 'number') throw new Error(`wasm heap kernel: attribute ${name} must be a number`);
  return v;
}

interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: unknown;
  attrs?: NamedAttrMap;
}

/**
 * Max-pool gradient (NHWC): each dy value goes to the first maximum of its window (row-major), as
 * the cpu backend's `MaxPoolGrad` does; overlapping windows add up.
 */
function roundingMode(v: unknown): 'floor' | 'round' | 'ceil' | undefined {
  return v === 'floor' || v === 'round' || v === 'ceil' ? v : undefined;
}

function maxPoolGrad(args: KernelArgs): TensorInfo {
  const backend = heapBackend(args.backend);
  const dyInfo = input(args.inputs, 'dy');
  const xInfo = input(args.inputs, 'input');
  const attrs = args.attrs ?? {};
  const rounding = roundingMode(attrs['dimRoundingMode']);
  const info = tf.backend_util.computePool2DInfo(
    xInfo.shape as [number, number, number, number],
    attrs['filterSize'] as number | [number, number],
    attrs['strides'] as number | [number, number],
    1,
    attrs['pad'] as 'valid' | 'same' | number,
    rounding,
  );
  const out = backend.makeOutput([...xInfo.shape], 'float32');
  const x = f32(backend, xInfo, 'input');
  const dy = f32(backend, dyInfo, 'dy');
  const dx = f32(backend, out, 'dx');
  dx.fill(0);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels: c,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
  } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * inHeight;
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        for (let d = 0; d < c; d++, o++) {
          let best = Number.NEGATIVE_INFINITY;
          let pos = -1;
          for (let r = rMin; r < rMax; r++) {
            let idx = ((xb + r) * inWidth + cMin) * c + d;
            for (let col = cMin; col < cMax; col++, idx += c) {
              const v = x[idx] as number;
              // Strictly greater: the first maximum in row-major window order wins ties.
              if (v > best) {
                best = v;
                pos = idx;
              }
            }
          }
          if (pos >= 0) dx[pos] = (dx[pos] as number) + (dy[o] as number);
        }
      }
    }
  }
  return out;
}

/** Geometry of a 2-D convolution shared by the patch kernels (dilation 1). */
interface PatchGeometry {
  n: number;
  h: number;
  w: number;
  cin: number;
  kh: number;
  kw: number;
  ho: number;
  wo: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

function geometry(attrs: NamedAttrMap): PatchGeometry {
  return {
    n: num(attrs, 'n'),
    h: num(attrs, 'h'),
    w: num(attrs, 'w'),
    cin: num(attrs, 'cin'),
    kh: num(attrs, 'kh'),
    kw: num(attrs, 'kw'),
    ho: num(attrs, 'ho'),
    wo: num(attrs, 'wo'),
    sh: num(attrs, 'sh'),
    sw: num(attrs, 'sw'),
    top: num(attrs, 'top'),
    left: num(attrs, 'left'),
  };
}

/**
 * The transposed patch matrix of x [n, h, w, cin]: [kh * kw * cin, n * ho * wo], row
 * (i * kw + j) * cin + c, column (b * ho + r) * wo + q holds x[b, r * sh + i - top, q * sw + j - left, c]
 * (0 outside x). `patchesT @ dy2d` is the filter gradient in [kh, kw, cin, cout] order.
 */
function im2colT(args: KernelArgs): TensorInfo {
  const backend = heapBackend(args.backend);
  const xInfo = input(args.inputs, 'x');
  const g = geometry(args.attrs ?? {});
  const p = g.n * g.ho * g.wo;
  const out = backend.makeOutput([g.kh * g.kw * g.cin, p], 'float32');
  const x = f32(backend, xInfo, 'x');
  const cols = f32(backend, out, 'patches');
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      for (let c = 0; c < g.cin; c++) {
        let o = ((i * g.kw + j) * g.cin + c) * p;
        for (let b = 0; b < g.n; b++) {
          for (let r = 0; r < g.ho; r++) {
            const xr = r * g.sh + i - g.top;
            if (xr < 0 || xr >= g.h) {
              cols.fill(0, o, o + g.wo);
              o += g.wo;
              continue;
            }
            const rowBase = (b * g.h + xr) * g.w;
            for (let q = 0; q < g.wo; q++, o++) {
              const xc = q * g.sw + j - g.left;
              cols[o] = xc < 0 || xc >= g.w ? 0 : (x[(rowBase + xc) * g.cin + c] as number);
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * The adjoint of the (untransposed) patch matrix: cols [n * ho * wo, kh * kw * cin] summed back into
 * an image [n, h, w, cin]. With cols = dy2d @ W2dᵀ this is the input gradient of the convolution.
 */
function col2im(args: KernelArgs): TensorInfo {
  const backend = heapBackend(args.backend);
  const colsInfo = input(args.inputs, 'cols');
  const g = geometry(args.attrs ?? {});
  const out = backend.makeOutput([g.n, g.h, g.w, g.cin], 'float32');
  const cols = f32(backend, colsInfo, 'cols');
  const dx = f32(backend, out, 'dx');
  dx.fill(0);
  const k = g.kh * g.kw * g.cin;
  let o = 0;
  for (let b = 0; b < g.n; b++) {
    for (let r = 0; r < g.ho; r++) {
      for (let q = 0; q < g.wo; q++) {
        for (let i = 0; i < g.kh; i++) {
          const xr = r * g.sh + i - g.top;
          if (xr < 0 || xr >= g.h) continue;
          for (let j = 0; j < g.kw; j++) {
            const xc = q * g.sw + j - g.left;
            if (xc < 0 || xc >= g.w) continue;
            let s = o + (i * g.kw + j) * g.cin;
            let d = ((b * g.h + xr) * g.w + xc) * g.cin;
            for (let c = 0; c < g.cin; c++, s++, d++) dx[d] = (dx[d] as number) + (cols[s] as number);
          }
        }
        o += k;
      }
    }
  }
  return out;
}

/** Kernel names of {@link registerWasmHeapKernels}, for `tf.engine().runKernel`. */
export const HeapKernel = {
  im2colT: 'DistrainIm2ColT',
  col2im: 'DistrainCol2Im',
} as const;

function register(kernelName: string, kernelFunc: (args: KernelArgs) => TensorInfo): void {
  if (tf.getKernel(kernelName, BACKEND) !== undefined) tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel({
    kernelName,
    backendName: BACKEND,
    kernelFunc: kernelFunc as KernelConfig['kernelFunc'],
  });
}

let registered = false;

/** Registers the heap kernels on the wasm backend (replacing its `MaxPoolGrad`). Idempotent. */
export function registerWasmHeapKernels(): void {
  if (registered) return;
  register('MaxPoolGrad', maxPoolGrad);
  register(HeapKernel.im2colT, im2colT);
  register(HeapKernel.col2im, col2im);
  registered = true;
}

/** The geometry attributes of the patch kernels for x [n, h, w, cin] and a filter [kh, kw, cin, cout]. */
export function patchAttrs(info: tf.backend_util.Conv2DInfo): NamedAttrMap {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    cin: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    ho: info.outHeight,
    wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}
