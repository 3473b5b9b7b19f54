import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec } from '../job-spec.ts';
import type { ParamMap } from '../variables.ts';
import { Rng } from '../rng.ts';
import { selectBackend } from './backend.ts';
import { filledTensor, firstValue, readInto } from './heap-io.ts';
import { initialParameters } from './init.ts';
import { ModelRuntime } from './model-runtime.ts';

await selectBackend('wasm');

const N = 24;
const rng = new Rng(11);
const pixels = Uint8Array.from({ length: N * 64 }, () => rng.int(256));
const labels = Int32Array.from({ length: N }, () => rng.int(4));
const keys = { epoch: 2, indices: Int32Array.from({ length: N }, (_, i) => 100 + i) };
const layers: LayerSpec[] = [
  { type: 'dense', units: 20, activation: 'relu' },
  { type: 'dropout', rate: 0.3 },
  { type: 'dense', units: 12, activation: 'relu' },
  { type: 'dense', units: 4 },
];

function runtime(): ModelRuntime {
  return new ModelRuntime({
    layers,
    loss: 'softmaxCrossEntropy',
    inputShape: [64],
    numClasses: 4,
    featureScale: 1 / 255,
    dropoutSeed: 3,
  });
}

function maxDiff(a: ParamMap, b: ParamMap): number {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  let d = 0;
  for (const [k, v] of a) {
    const w = b.get(k) as Float32Array;
    assert.equal(v.length, w.length, k);
    for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs((v[i] as number) - (w[i] as number)));
  }
  return d;
}

for (const backend of ['wasm', 'cpu'] as const) {
  void test(`filledTensor / readInto / firstValue round-trip on ${backend}`, async () => {
    await selectBackend(backend);
    try {
      const before = tf.memory().numTensors;
      const into = new Float32Array(6).fill(9);
      tf.tidy(() => {
        const t = filledTensor([2, 3], (out) => {
          for (let i = 0; i < out.length; i++) out[i] = i + 0.5;
        });
        assert.deepEqual([...t.dataSync()], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
        readInto(t, into, false);
        assert.deepEqual([...into], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
        readInto(t, into, true);
        assert.deepEqual([...into], [1, 3, 5, 7, 9, 11]);
        assert.throws(() => readInto(t, new Float32Array(5), false), /6 values into 5/);
        assert.equal(firstValue(tf.sum(t)), 18);
      });
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await selectBackend('wasm');
    }
  });
}

void test('wasm Identity shares the data: a clone keeps its values after the original is disposed', () => {
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const b = tf.clone(a);
  a.dispose();
  assert.deepEqual([...b.dataSync()], [1, 2, 3, 4]);
  const v = tf.variable(tf.tensor([1, 2]));
  const c = tf.clone(v);
  v.assign(tf.tensor([5, 6]));
  assert.deepEqual([...c.dataSync()], [1, 2], 'a clone of a variable keeps the old value after assign');
  assert.deepEqual([...v.dataSync()], [5, 6]);
  b.dispose();
  c.dispose();
  v.dispose();
});

void test('gradients after setParameters equal a fresh model with those parameters (within 1e-6)', () => {
  const reused = runtime();
  try {
    for (let round = 0; round < 4; round++) {
      const params = initialParameters(reused.variables, 20 + round);
      // Large changes: a stale cached operator (packed weights) would show at once.
      for (const v of params.values())
        for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * (1 + round);
      reused.setParameters(params);
      reused.accumulateGradients(pixels, [64], labels, N, keys);
      const got = reused.takeAccumulated();
      const fresh = runtime();
      try {
        fresh.setParameters(params);
        const want = fresh.computeGradients(pixels, [64], labels, N, keys);
        assert.ok(
          maxDiff(got.grads, want.grads) <= 1e-6,
          `round ${round}: ${maxDiff(got.grads, want.grads)}`,
        );
        assert.ok(Math.abs(got.lossSum - want.lossSum) <= 1e-6 * Math.max(1, Math.abs(want.lossSum)));
        assert.equal(got.count, N);
        // computeGradients returns fresh arrays, equal to the accumulation path's.
        assert.ok(maxDiff(reused.computeGradients(pixels, [64], labels, N, keys).grads, want.grads) <= 1e-6);
      } finally {
        fresh.dispose();
      }
    }
  } finally {
    reused.dispose();
  }
});

void test('takeAccumulated hands out reused buffers: overwritten by the next step, never added to', () => {
  const rt = runtime();
  try {
    rt.setParameters(initialParameters(rt.variables, 4));
    const whole = rt.computeGradients(pixels, [64], labels, N, keys);
    rt.accumulateGradients(pixels, [64], labels, N, keys);
    const first = rt.takeAccumulated();
    assert.ok(maxDiff(first.grads, whole.grads) <= 1e-6);
    // The next step starts from zero (no leftovers of the last), in the same arrays.
    const half = { epoch: 2, indices: keys.indices.subarray(0, 12) };
    rt.accumulateGradients(pixels.subarray(0, 12 * 64), [64], labels.subarray(0, 12), 12, half);
    const second = rt.takeAccumulated();
    assert.equal(second.grads.get('l0_dense/kernel'), first.grads.get('l0_dense/kernel'));
    const want = rt.computeGradients(pixels.subarray(0, 12 * 64), [64], labels.subarray(0, 12), 12, half);
    assert.ok(maxDiff(second.grads, want.grads) <= 1e-6);
    assert.equal(second.count, 12);
    // accumulate() of a computed result goes through the same buffers.
    rt.accumulate(whole);
    rt.accumulate(whole);
    const doubled = rt.takeAccumulated();
    assert.equal(doubled.count, 2 * N);
    const twice: ParamMap = new Map([...whole.grads].map(([k, v]) => [k, v.map((x) => 2 * x)]));
    assert.ok(maxDiff(doubled.grads, twice) <= 1e-5);
    // Nothing accumulated: zeros.
    const empty = rt.takeAccumulated();
    assert.equal(empty.count, 0);
    assert.ok([...empty.grads.values()].every((g) => g.every((x) => x === 0)));
  } finally {
    rt.dispose();
  }
});
