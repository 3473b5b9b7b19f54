import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend.ts';

/** Gradients of sum(conv2d(x, w) * r) w.r.t. x and w on the current backend, as host arrays. */
function convGrads(
  xs: Float32Array,
  xShape: [number, number, number, number],
  ws: Float32Array,
  wShape: [number, number, number, number],
  stride: number,
  pad: 'valid' | 'same',
): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, xShape);
    const w = tf.tensor4d(ws, wShape);
    const y = tf.conv2d(x, w, stride, pad);
    const r = tf.sin(tf.range(0, y.size).reshape(y.shape));
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), r)),
    );
    const [dx, dw] = g([x, w]);
    return {
      dx: (dx as tf.Tensor).dataSync() as Float32Array,
      dw: (dw as tf.Tensor).dataSync() as Float32Array,
    };
  }) as unknown as { dx: Float32Array; dw: Float32Array };
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let scale = 1e-6;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i] as number));
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return diff / scale;
}

const cases: {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: 'valid' | 'same';
}[] = [
  { x: [3, 9, 9, 2], w: [3, 3, 2, 4], stride: 1, pad: 'valid' },
  { x: [2, 8, 7, 3], w: [3, 2, 3, 5], stride: 1, pad: 'same' },
  { x: [2, 9, 10, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  { x: [2, 8, 9, 1], w: [5, 5, 1, 2], stride: 2, pad: 'same' },
  { x: [4, 28, 28, 1], w: [3, 3, 1, 8], stride: 1, pad: 'valid' },
  // kh*kw*cin > 64: the filter gradient takes the convolution path instead of the patch matrix.
  { x: [2, 7, 8, 9], w: [3, 3, 9, 4], stride: 1, pad: 'same' },
  { x: [2, 9, 9, 8], w: [3, 3, 8, 5], stride: 2, pad: 'valid' },
];

void test('conv2d filter and input gradients on wasm equal the cpu backend', async () => {
  for (const c of cases) {
    const xs = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.37));
    const ws = Float32Array.from({ length: c.w.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.53));
    await selectBackend('cpu');
    const ref = convGrads(xs, c.x, ws, c.w, c.stride, c.pad);
    await selectBackend('wasm');
    const got = convGrads(xs, c.x, ws, c.w, c.stride, c.pad);
    const label = JSON.stringify(c);
    assert.ok(maxRelDiff(got.dw, ref.dw) < 1e-4, `filter gradient ${label}: ${maxRelDiff(got.dw, ref.dw)}`);
    assert.ok(maxRelDiff(got.dx, ref.dx) < 1e-4, `input gradient ${label}: ${maxRelDiff(got.dx, ref.dx)}`);
  }
});

void test('transposed matMul on wasm equals the cpu backend', async () => {
  const a = Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: 2 * 4 * 5 }, (_, i) => Math.cos(i));
  const run = (): Float32Array =>
    tf.tidy(
      () =>
        tf
          .matMul(tf.tensor3d(a, [2, 5, 3]), tf.tensor3d(b, [2, 4, 5]), true, true)
          .dataSync() as Float32Array,
    );
  await selectBackend('cpu');
  const ref = run();
  await selectBackend('wasm');
  assert.ok(maxRelDiff(run(), ref) < 1e-5);
});

/** MaxPoolGrad through `tf.grad` of maxPool on the current backend: dx as a host array. */
function maxPoolGrad(
  xs: Float32Array,
  shape: [number, number, number, number],
  size: number,
  stride: number,
  pad: 'valid' | 'same',
): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, shape);
    const y = tf.maxPool(x, size, stride, pad);
    // Host-made weights: both backends see bit-identical dy, so dx must match exactly.
    const r = tf.tensor(
      Float32Array.from({ length: y.size }, (_, i) => Math.cos(i)),
      y.shape,
    );
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), r)));
    return g(x).dataSync() as Float32Array;
  });
}

void test('max-pool gradient on wasm equals the cpu backend, ties included', async () => {
  const poolCases: {
    x: [number, number, number, number];
    size: number;
    stride: number;
    pad: 'valid' | 'same';
  }[] = [
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' },
    { x: [2, 9, 7, 4], size: 2, stride: 2, pad: 'valid' },
    { x: [2, 9, 7, 4], size: 3, stride: 2, pad: 'same' },
    { x: [1, 6, 6, 2], size: 3, stride: 1, pad: 'valid' },
  ];
  for (const c of poolCases) {
    const n = c.x.reduce((a, b) => a + b);
    // Coarse values (and relu-like zeros) so that windows hold exact ties: the first maximum must win.
    const xs = Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) =>
      Math.max(0, Math.round(3 * Math.sin(i * 1.7 + n))),
    );
    await selectBackend('cpu');
    const ref = maxPoolGrad(xs, c.x, c.size, c.stride, c.pad);
    await selectBackend('wasm');
    const got = maxPoolGrad(xs, c.x, c.size, c.stride, c.pad);
    // Same positions (a tie sent elsewhere is off by a whole dy value); overlapping windows may sum
    // in another order.
    assert.ok(maxRelDiff(got, ref) < 1e-6, `${JSON.stringify(c)}: ${maxRelDiff(got, ref)}`);
  }
});
