import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { HeapKernel, patchAttrs, registerWasmHeapKernels } from './wasm-heap-kernels.ts';

/**
 * Extra kernels for tfjs-backend-wasm, built from ops the wasm backend has and from the heap kernels
 * of wasm-heap-kernels.ts:
 *
 * - `Conv2DBackpropFilter`: missing from the package, so conv2d does not train on wasm as shipped.
 *   dW[kh, kw, cin, cout] = sum over n, ho, wo of x[n, ho*s + kh, wo*s + kw, cin] * dy[n, ho, wo, cout].
 *   Few input channels (kh*kw*cin <= 64, a first layer on images): one matMul of the transposed patch
 *   matrix of x with dy (~5x faster than the convolution below). Otherwise a forward convolution
 *   with the input's channels as batch and the batch as channels, convolving x with dy.
 * - `Conv2DBackpropInput`: the shipped wasm kernel is a plain loop (~400 ms for a 32->64 3x3 layer at
 *   batch 128). Here: dy [P, cout] times the filter as [cout, K] gives every patch's gradient, and
 *   col2im adds them back into the image (the full convolution with the flipped filter,
 *   {@link conv2dInputGradient}, does ~40% more multiplications on padding zeros).
 * - `MaxPoolGrad` (in wasm-heap-kernels.ts): ~2.5x faster than the package's kernel.
 * - `BatchMatMul`: the wasm kernel is ~14x slower with transpose flags set (it leaves the fast XNNPACK
 *   path), and tfjs's matMul gradient sets them. Transposing explicitly first is far cheaper.
 * - `Identity` (`tf.clone`): the package's kernel copies the data; tensors are immutable (a variable's
 *   `assign` swaps in a new data id), so this one shares the data id and counts a reference, as the
 *   cpu backend does. tfjs clones every tensor a gradient saves, e.g. each dense layer's input and
 *   kernel, every training step.
 *
 * Ops called inside a kernel run with the tape off (the engine's kernel depth is > 0), so these
 * kernels do not disturb gradient recording.
 */

const BACKEND = 'wasm';

/** Largest kh * kw * cin for which the filter gradient goes through the patch matrix. */
const PATCH_FILTER_GRADIENT_MAX_K = 64;

function asTensor(info: TensorInfo | undefined, what: string): tf.Tensor {
  if (info === undefined) throw new Error(`wasm kernel: missing input ${what}`);
  // Inside a kernel the engine passes the Tensor objects it was called with.
  return info as tf.Tensor;
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  throw new Error(`wasm kernel: bad ${what} ${JSON.stringify(v)}`);
}

/**
 * The filter gradient of a 2-D convolution (NHWC), written with forward convolutions only. Exported
 * for tests; normally reached through `tf.grad` of `tf.conv2d` on the wasm backend.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    const [kh, kw, cin, cout] = filterShape;
    const { top, bottom, left, right } = info.padInfo;
    const xp =
      top + bottom + left + right > 0
        ? tf.pad(x, [
            [0, 0],
            [top, bottom],
            [left, right],
            [0, 0],
          ])
        : x;
    // [cin, H, W, n] convolved with [ho, wo, n, cout] (dilated by the stride) -> [cin, kh', kw', cout].
    const xT = tf.transpose(xp, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const dilations: [number, number] = [info.strideHeight, info.strideWidth];
    let out = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', dilations);
    if (out.shape[1] !== kh || out.shape[2] !== kw) out = tf.slice(out, [0, 0, 0, 0], [cin, kh, kw, cout]);
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/**
 * The input gradient of a 2-D convolution (NHWC), written with a forward convolution. Exported for
 * tests; normally reached through `tf.grad` of `tf.conv2d` on the wasm backend.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const [kh, kw, cin] = filter.shape;
    const [n, h, w] = inputShape;
    const [, ho, wo, cout] = dy.shape;
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    // Dilate dy by the stride: [n, ho, wo, c] -> [n, (ho-1)*sh+1, (wo-1)*sw+1, c] with zeros between.
    let d: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      const spread = tf.pad(tf.reshape(dy, [n, ho, 1, wo, 1, cout]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      d = tf.slice(
        tf.reshape(spread as tf.Tensor, [n, ho * sh, wo * sw, cout]) as tf.Tensor4D,
        [0, 0, 0, 0],
        [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, cout],
      );
    }
    // dx[i] = sum_k dFull[i + top + k] * flip(W)[k], dFull = d with (k-1) zeros before it.
    const { top, left } = info.padInfo;
    const before = [kh - 1 - top, kw - 1 - left];
    const after = [h + top - d.shape[1], w + left - d.shape[2]];
    const padded = tf.pad(d, [
      [0, 0],
      [Math.max(0, before[0] ?? 0), Math.max(0, after[0] ?? 0)],
      [Math.max(0, before[1] ?? 0), Math.max(0, after[1] ?? 0)],
      [0, 0],
    ]);
    const startH = Math.max(0, -(before[0] ?? 0));
    const startW = Math.max(0, -(before[1] ?? 0));
    const cropped = tf.slice(padded, [0, startH, startW, 0], [n, h + kh - 1, w + kw - 1, cout]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    const dx = tf.conv2d(cropped, flipped, 1, 'valid');
    if (dx.shape[3] !== cin) throw new Error('conv2dInputGradient: channel mismatch');
    return dx;
  });
}

/**
 * The filter gradient as one plain matMul: the transposed patch matrix of x [K, P] (K = kh*kw*cin,
 * P = n*ho*wo, built on the wasm heap) times dy as [P, cout]. wasm backend only.
 */
export function conv2dFilterGradientByPatches(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    const patchesT = tf.engine().runKernel(HeapKernel.im2colT, { x }, patchAttrs(info)) as tf.Tensor2D;
    const [, ho, wo, cout] = dy.shape;
    const dy2 = tf.reshape(dy, [dy.shape[0] * ho * wo, cout]);
    return tf.reshape(tf.matMul(patchesT, dy2), filterShape);
  });
}

/**
 * The input gradient as one plain matMul and a scatter-add: dy as [P, cout] times the filter as
 * [cout, K] gives every patch's gradient, which col2im sums back into the image. wasm backend only.
 */
export function conv2dInputGradientByPatches(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' | number,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const [kh, kw, cin, cout] = filter.shape;
    const [n, ho, wo] = dy.shape;
    const wT = tf.transpose(tf.reshape(filter, [kh * kw * cin, cout]));
    const cols = tf.matMul(tf.reshape(dy, [n * ho * wo, cout]), wT);
    return tf.engine().runKernel(HeapKernel.col2im, { cols }, patchAttrs(info)) as tf.Tensor4D;
  });
}

function conv2dBackpropInputKernel(args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): TensorInfo {
  const dy = asTensor(args.inputs['dy'], 'dy') as tf.Tensor4D;
  const filter = asTensor(args.inputs['filter'], 'filter') as tf.Tensor4D;
  const attrs = args.attrs ?? {};
  const dataFormat = attrs['dataFormat'];
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`wasm Conv2DBackpropInput supports NHWC only, got ${String(dataFormat)}`);
  }
  const inputShape = attrs['inputShape'];
  if (!Array.isArray(inputShape) || inputShape.length !== 4)
    throw new Error('wasm Conv2DBackpropInput: bad inputShape');
  const pad = attrs['pad'];
  if (pad !== 'valid' && pad !== 'same' && typeof pad !== 'number') {
    throw new Error('wasm Conv2DBackpropInput: explicit padding is not supported');
  }
  const rounding = attrs['dimRoundingMode'];
  return conv2dInputGradientByPatches(
    dy,
    filter,
    inputShape as [number, number, number, number],
    pair(attrs['strides'], 'strides'),
    pad as 'valid' | 'same' | number,
    roundingMode(rounding),
  );
}

function conv2dBackpropFilterKernel(args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): TensorInfo {
  const x = asTensor(args.inputs['x'], 'x') as tf.Tensor4D;
  const dy = asTensor(args.inputs['dy'], 'dy') as tf.Tensor4D;
  const attrs = args.attrs ?? {};
  const dataFormat = attrs['dataFormat'];
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`wasm Conv2DBackpropFilter supports NHWC only, got ${String(dataFormat)}`);
  }
  const filterShape = attrs['filterShape'];
  if (!Array.isArray(filterShape) || filterShape.length !== 4)
    throw new Error('wasm Conv2DBackpropFilter: bad filterShape');
  const pad = attrs['pad'];
  if (pad !== 'valid' && pad !== 'same' && typeof pad !== 'number') {
    throw new Error('wasm Conv2DBackpropFilter: explicit padding is not supported');
  }
  const rounding = attrs['dimRoundingMode'];
  // Few input channels (a first layer on images): the patch matrix is small and one matMul wins
  // ~5x; many channels: XNNPACK's convolution (implicit patches) is as fast without the copy.
  const fs = filterShape as [number, number, number, number];
  const filterGradient =
    fs[0] * fs[1] * fs[2] <= PATCH_FILTER_GRADIENT_MAX_K
      ? conv2dFilterGradientByPatches
      : conv2dFilterGradient;
  return filterGradient(
    x,
    dy,
    fs,
    pair(attrs['strides'], 'strides'),
    pad as 'valid' | 'same' | number,
    roundingMode(rounding),
  );
}

function roundingMode(v: unknown): 'floor' | 'round' | 'ceil' | undefined {
  return v === 'floor' || v === 'round' || v === 'ceil' ? v : undefined;
}

function lastTwoSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** `Identity` sharing the input's data (reference counted) instead of copying it. */
function sharedIdentity(args: { inputs: NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const x = args.inputs['x'];
  if (x === undefined) throw new Error('wasm Identity: missing input x');
  const backend = args.backend as { incRef?: (dataId: unknown) => void };
  if (typeof backend.incRef !== 'function') throw new Error('wasm Identity: the backend has no incRef');
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let registered = false;

/**
 * Registers distrain's wasm kernels. Idempotent; call after `@tensorflow/tfjs-backend-wasm` is
 * imported (its own kernels must be registered first so the matMul override can wrap them).
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registerWasmHeapKernels();
  if (tf.getKernel('Conv2DBackpropFilter', BACKEND) === undefined) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: BACKEND,
      kernelFunc: conv2dBackpropFilterKernel as KernelConfig['kernelFunc'],
    });
  }
  if (tf.getKernel('Conv2DBackpropInput', BACKEND) !== undefined)
    tf.unregisterKernel('Conv2DBackpropInput', BACKEND);
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: BACKEND,
    kernelFunc: conv2dBackpropInputKernel as KernelConfig['kernelFunc'],
  });
  if (tf.getKernel('Identity', BACKEND) !== undefined) tf.unregisterKernel('Identity', BACKEND);
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: BACKEND,
    kernelFunc: sharedIdentity as KernelConfig['kernelFunc'],
  });
  const original = tf.getKernel('BatchMatMul', BACKEND);
  if (original !== undefined) {
    const fast: KernelConfig['kernelFunc'] = (args) => {
      const attrs = args.attrs ?? {};
      if (attrs['transposeA'] !== true && attrs['transposeB'] !== true) return original.kernelFunc(args);
      const a = asTensor(args.inputs['a'], 'a');
      const b = asTensor(args.inputs['b'], 'b');
      return tf.tidy(() => {
        const a2 = attrs['transposeA'] === true ? tf.transpose(a, lastTwoSwapped(a.rank)) : a;
        const b2 = attrs['transposeB'] === true ? tf.transpose(b, lastTwoSwapped(b.rank)) : b;
        // Re-enters this kernel with both flags false, i.e. the original fast path.
        return tf.matMul(a2, b2);
      });
    };
    tf.unregisterKernel('BatchMatMul', BACKEND);
    tf.registerKernel({ ...original, kernelFunc: fast });
  }
  registered = true;
}
