import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec } from '../job-spec.ts';
import type { ParamMap } from '../variables.ts';
import { Rng } from '../rng.ts';
import { selectBackend } from './backend.ts';
import { initialParameters } from './init.ts';
import { ModelRuntime } from './model-runtime.ts';
import { dropoutMask } from './seeded-dropout.ts';

await selectBackend('wasm');

const N = 16;
const rng = new Rng(7);
const pixels = Uint8Array.from({ length: N * 36 }, () => rng.int(256));
const labels = Int32Array.from({ length: N }, () => rng.int(3));

const plain: LayerSpec[] = [
  { type: 'dense', units: 12, activation: 'relu' },
  { type: 'dense', units: 8, activation: 'relu' },
  { type: 'dense', units: 3 },
];
const withDropout: LayerSpec[] = [
  { type: 'dense', units: 32, activation: 'relu' },
  { type: 'dropout', rate: 0.5 },
  { type: 'dense', units: 3 },
];
const withBn: LayerSpec[] = [
  { type: 'reshape', targetShape: [6, 6, 1] },
  { type: 'conv2d', filters: 4, kernelSize: 3 },
  { type: 'batchNormalization', momentum: 0.9 },
  { type: 'activation', activation: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 3 },
];

function runtime(layers: LayerSpec[], featureScale = 1 / 255): ModelRuntime {
  const rt = new ModelRuntime({
    layers,
    loss: 'softmaxCrossEntropy',
    inputShape: [36],
    numClasses: 3,
    featureScale,
  });
  rt.setParameters(initialParameters(rt.variables, 5));
  return rt;
}

function assertMapsEqual(a: ParamMap, b: ParamMap, tol = 0): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) {
    const w = b.get(k) as Float32Array;
    for (let i = 0; i < v.length; i++) {
      assert.ok(
        Math.abs((v[i] as number) - (w[i] as number)) <= tol * Math.max(1, Math.abs(w[i] as number)),
        `${k}[${i}]: ${v[i]} vs ${w[i]}`,
      );
    }
  }
}

void test('numTensors is flat across 100 steps (train, accumulate, evaluate, setParameters)', () => {
  const rt = runtime(withBn);
  try {
    const params = initialParameters(rt.variables, 1);
    rt.computeGradients(pixels, [36], labels, N);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 100; s++) {
      const r = rt.computeGradients(pixels, [36], labels, N);
      rt.accumulateGradients(pixels, [36], labels, N);
      rt.takeAccumulated();
      rt.evaluate(pixels, labels, N);
      for (const [k, v] of r.states) params.set(k, v);
      rt.setParameters(params);
    }
    assert.equal(tf.memory().numTensors, before);
  } finally {
    rt.dispose();
  }
});

void test('gradientBuffers 2: the arrays a step took stay unchanged through the next step, then are reused', () => {
  const rt = new ModelRuntime({
    layers: plain,
    loss: 'softmaxCrossEntropy',
    inputShape: [36],
    numClasses: 3,
    featureScale: 1 / 255,
    gradientBuffers: 2,
  });
  rt.setParameters(initialParameters(rt.variables, 5));
  const single = runtime(plain);
  try {
    assert.equal(rt.gradientBuffers, 2);
    assert.equal(single.gradientBuffers, 1);
    const half = N / 2;
    rt.accumulateGradients(pixels, [36], labels, N);
    const first = rt.takeAccumulated().grads;
    const kept = new Map([...first].map(([k, v]) => [k, Float32Array.from(v)]));
    // The next step (other samples, other gradients) fills the other set ...
    rt.accumulateGradients(pixels.subarray(0, half * 36), [36], labels.subarray(0, half), half);
    const second = rt.takeAccumulated().grads;
    assertMapsEqual(first, kept);
    for (const [k, v] of second) assert.notEqual(v, first.get(k), `${k}: a distinct array`);
    assertMapsEqual(
      second,
      rt.computeGradients(pixels.subarray(0, half * 36), [36], labels.subarray(0, half), half).grads,
    );
    // ... and the step after it reuses the first set's arrays, with fresh values.
    rt.accumulateGradients(pixels, [36], labels, N);
    const third = rt.takeAccumulated().grads;
    for (const [k, v] of third) assert.equal(v, first.get(k), `${k}: the first set again`);
    assertMapsEqual(third, kept);
    // One set: the same arrays every step.
    single.accumulateGradients(pixels, [36], labels, N);
    const a = single.takeAccumulated().grads;
    single.accumulateGradients(pixels, [36], labels, N);
    for (const [k, v] of single.takeAccumulated().grads) assert.equal(v, a.get(k));
  } finally {
    rt.dispose();
    single.dispose();
  }
});

void test('gradients are fresh every step; accumulation sums on purpose', () => {
  const rt = runtime(plain);
  try {
    const a = rt.computeGradients(pixels, [36], labels, N);
    const b = rt.computeGradients(pixels, [36], labels, N);
    assertMapsEqual(b.grads, a.grads);
    assert.equal(b.lossSum, a.lossSum);
    assert.deepEqual(
      [...a.grads.keys()],
      [
        'l0_dense/kernel',
        'l0_dense/bias',
        'l1_dense/kernel',
        'l1_dense/bias',
        'l2_dense/kernel',
        'l2_dense/bias',
      ],
    );
    rt.accumulateGradients(pixels, [36], labels, N);
    rt.accumulateGradients(pixels, [36], labels, N);
    const acc = rt.takeAccumulated();
    assert.equal(acc.count, 2 * N);
    const doubled: ParamMap = new Map([...a.grads].map(([k, v]) => [k, v.map((x) => 2 * x)]));
    assertMapsEqual(acc.grads, doubled, 1e-6);
    // The buffer is empty again, and a plain step is still unaffected.
    assert.equal(rt.takeAccumulated().count, 0);
    assertMapsEqual(rt.computeGradients(pixels, [36], labels, N).grads, a.grads);
    // Sum, not mean: half the batch twice adds up to the whole batch.
    const h1 = rt.computeGradients(pixels.subarray(0, 8 * 36), [36], labels.subarray(0, 8), 8);
    const h2 = rt.computeGradients(pixels.subarray(8 * 36), [36], labels.subarray(8), 8);
    const sum: ParamMap = new Map(
      [...h1.grads].map(([k, v]) => [
        k,
        v.map((x, i) => x + ((h2.grads.get(k) as Float32Array)[i] as number)),
      ]),
    );
    assertMapsEqual(sum, a.grads, 1e-4);
    // An empty slice gives zeros.
    const empty = rt.computeGradients(new Uint8Array(0), [36], new Int32Array(0), 0);
    assert.equal(empty.lossSum, 0);
    assert.ok([...empty.grads.values()].every((g) => g.every((x) => x === 0)));
  } finally {
    rt.dispose();
  }
});

void test('uint8 inputs are cast to float32 and scaled before the first layer', () => {
  const rtInt = runtime(plain, 1 / 255);
  const rtFloat = runtime(plain, 1);
  try {
    const floats = Float32Array.from(pixels, (p) => p / 255);
    const a = rtInt.computeGradients(pixels, [36], labels, N);
    const b = rtFloat.computeGradients(floats, [6, 6], labels, N);
    assertMapsEqual(a.grads, b.grads, 1e-5);
    assert.ok(Math.abs(a.lossSum - b.lossSum) < 1e-4);
  } finally {
    rtInt.dispose();
    rtFloat.dispose();
  }
});

void test('evaluation is deterministic with dropout; training is not', () => {
  const rt = runtime(withDropout);
  try {
    const e1 = rt.evaluate(pixels, labels, N);
    const e2 = rt.evaluate(pixels, labels, N);
    assert.deepEqual(e1.probabilities, e2.probabilities);
    assert.equal(e1.lossSum, e2.lossSum);
    assert.equal(e1.probabilities.length, N * 3);
    assert.equal(e1.correct, e1.predicted.filter((p, i) => p === labels[i]).length);
    const t1 = rt.computeGradients(pixels, [36], labels, N);
    const t2 = rt.computeGradients(pixels, [36], labels, N);
    assert.notEqual(t1.lossSum, t2.lossSum);
  } finally {
    rt.dispose();
  }
});

void test('seeded dropout: masks are a function of (seed, epoch, sample), not of the slice or process', () => {
  const rt = runtime(withDropout);
  const other = runtime(withDropout); // a second "process" with the same job seed
  try {
    const indices = Uint32Array.from({ length: N }, (_, i) => 100 + 3 * i);
    const keys = { epoch: 2, indices };
    const whole = rt.computeGradients(pixels, [36], labels, N, keys);
    // The same samples again, and in another runtime: identical.
    assertMapsEqual(rt.computeGradients(pixels, [36], labels, N, keys).grads, whole.grads);
    assertMapsEqual(other.computeGradients(pixels, [36], labels, N, keys).grads, whole.grads);
    // Two "ranks" of 8 samples each add up to the whole batch (masks follow the samples).
    const h1 = rt.computeGradients(pixels.subarray(0, 8 * 36), [36], labels.subarray(0, 8), 8, {
      epoch: 2,
      indices: indices.subarray(0, 8),
    });
    const h2 = other.computeGradients(pixels.subarray(8 * 36), [36], labels.subarray(8), 8, {
      epoch: 2,
      indices: indices.subarray(8),
    });
    assert.ok(Math.abs(h1.lossSum + h2.lossSum - whole.lossSum) < 1e-4 * Math.abs(whole.lossSum));
    for (const [k, g] of whole.grads) {
      const a = h1.grads.get(k) as Float32Array;
      const b = h2.grads.get(k) as Float32Array;
      g.forEach((x, i) =>
        assert.ok(Math.abs((a[i] as number) + (b[i] as number) - x) < 1e-4 * Math.max(1, Math.abs(x))),
      );
    }
    // Another epoch draws other masks.
    const next = rt.computeGradients(pixels, [36], labels, N, { epoch: 3, indices });
    assert.notEqual(next.lossSum, whole.lossSum);
    // accumulateGradients passes the keys through: two micro-batches equal the whole.
    rt.accumulateGradients(pixels.subarray(0, 8 * 36), [36], labels.subarray(0, 8), 8, {
      epoch: 2,
      indices: indices.subarray(0, 8),
    });
    rt.accumulateGradients(pixels.subarray(8 * 36), [36], labels.subarray(8), 8, {
      epoch: 2,
      indices: indices.subarray(8),
    });
    assertMapsEqual(rt.takeAccumulated().grads, whole.grads, 1e-4);
  } finally {
    rt.dispose();
    other.dispose();
  }
});

void test('a batch prepared ahead gives the same gradients bit for bit; a different batch discards it', () => {
  const two: LayerSpec[] = [
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dropout', rate: 0.5 },
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 3 },
  ];
  for (const layers of [plain, two]) {
    const rt = runtime(layers);
    try {
      const indices = Uint32Array.from({ length: N }, (_, i) => 40 + i);
      const keys = { epoch: 1, indices };
      rt.accumulateGradients(pixels, [36], labels, N, keys);
      const direct = rt.takeAccumulated();
      const want = {
        grads: new Map([...direct.grads].map(([k, v]) => [k, v.slice()])),
        loss: direct.lossSum,
      };
      const before = tf.memory().numTensors;
      // Prepared (as a trainer does during its exchange), then the same arrays as views.
      assert.equal(rt.prepareBatch(pixels, [36], labels, N, keys), true);
      // Held until the step: the input, the labels and one mask per dropout layer.
      const dropouts = layers.filter((l) => l.type === 'dropout').length;
      assert.equal(tf.memory().numTensors, before + 2 + dropouts);
      rt.accumulateGradients(pixels.subarray(0, N * 36), [36], labels.subarray(0, N), N, {
        epoch: 1,
        indices: indices.subarray(0, N),
      });
      const got = rt.takeAccumulated();
      assert.equal(got.lossSum, want.loss);
      assertMapsEqual(got.grads, want.grads);
      assert.equal(tf.memory().numTensors, before, 'the prepared tensors are freed by the step');
      // Prepared for one epoch, computed for another: discarded, the step makes its own masks.
      rt.prepareBatch(pixels, [36], labels, N, keys);
      rt.accumulateGradients(pixels, [36], labels, N, { epoch: 2, indices });
      const other = rt.takeAccumulated();
      assert.equal(tf.memory().numTensors, before);
      if (layers === two) assert.notEqual(other.lossSum, want.loss);
      rt.accumulateGradients(pixels, [36], labels, N, { epoch: 2, indices });
      assert.equal(rt.takeAccumulated().lossSum, other.lossSum);
      // Other samples (another copy of the pixels): discarded too.
      rt.prepareBatch(pixels, [36], labels, N, keys);
      rt.accumulateGradients(pixels.slice(), [36], labels, N, keys);
      assert.equal(rt.takeAccumulated().lossSum, want.loss);
      // Prepared and never used (an abandoned step): discardPrepared frees it.
      rt.prepareBatch(pixels, [36], labels, N, keys);
      rt.discardPrepared();
      assert.equal(tf.memory().numTensors, before);
    } finally {
      rt.dispose();
    }
  }
});

void test('dropoutMask drops about `rate` and scales the rest by 1 / (1 - rate)', () => {
  const m = dropoutMask(42, 1, 0.25, { epoch: 0, indices: Array.from({ length: 200 }, (_, i) => i) }, 50);
  const dropped = m.filter((x) => x === 0).length / m.length;
  assert.ok(Math.abs(dropped - 0.25) < 0.02, `dropped ${dropped}`);
  assert.ok(m.every((x) => x === 0 || Math.abs(x - 1 / 0.75) < 1e-6));
  // Row i depends only on its own key.
  const one = dropoutMask(42, 1, 0.25, { epoch: 0, indices: [7] }, 50);
  assert.deepEqual([...one], [...m.subarray(7 * 50, 8 * 50)]);
});

/** The mask stream as first written (unsigned arithmetic): the int32 form must give the same bits. */
function referenceMask(
  seed: number,
  layer: number,
  rate: number,
  epoch: number,
  indices: number[],
  per: number,
): Float32Array {
  const mix = (a: number, b: number): number => {
    let z = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) ^ Math.imul(b + 0x6b43a9b5, 0x297a2d39)) >>> 0;
    z = Math.imul(z ^ (z >>> 12), 0x85ebca6b);
    return (z ^ (z >>> 13)) >>> 0;
  };
  const out = new Float32Array(indices.length * per);
  const base = mix(mix(seed >>> 0, layer), epoch >>> 0);
  const threshold = Math.floor(rate * 4294967296);
  indices.forEach((index, i) => {
    const state = mix(base, index >>> 0);
    for (let j = 0; j < per; j++) {
      let z = (state + Math.imul(j + 1, 0x9e3779b9)) >>> 0;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      out[i * per + j] = (z ^ (z >>> 16)) >>> 0 < threshold ? 0 : 1 / (1 - rate);
    }
  });
  return out;
}

void test('dropoutMask gives the same masks as the unsigned reference stream, bit for bit', () => {
  const indices = Array.from({ length: 300 }, (_, i) => (i * 2654435761) >>> 0);
  for (const [seed, layer, rate, epoch, per] of [
    [42, 2, 0.2, 0, 256],
    [0, 0, 0.5, 7, 33],
    [0xffffffff, 5, 0.9, 0x7fffffff, 17],
    [3, 1, 0.001, 2, 100],
    [9, 3, 0.999, 1, 64],
  ] as const) {
    const got = dropoutMask(seed, layer, rate, { epoch, indices }, per);
    assert.deepEqual(got, referenceMask(seed, layer, rate, epoch, indices, per), `seed ${seed} rate ${rate}`);
  }
});

void test('batch-norm moving statistics are returned and updated by training', () => {
  const rt = runtime(withBn);
  try {
    const r = rt.computeGradients(pixels, [36], labels, N);
    assert.deepEqual(
      [...r.states.keys()],
      ['l2_batchNormalization/moving_mean', 'l2_batchNormalization/moving_variance'],
    );
    assert.ok(!r.grads.has('l2_batchNormalization/moving_mean'));
    assert.ok(r.grads.has('l2_batchNormalization/gamma'));
    const mean = r.states.get('l2_batchNormalization/moving_mean') as Float32Array;
    assert.ok(
      mean.some((m) => m !== 0),
      'moving mean moved away from 0',
    );
    // Evaluation (inference mode) does not change them.
    rt.evaluate(pixels, labels, N);
    assertMapsEqual(rt.computeGradients(new Uint8Array(0), [36], new Int32Array(0), 0).states, r.states);
  } finally {
    rt.dispose();
  }
});

void test('export loads with tf.loadLayersModel and predicts the same', async () => {
  const rt = runtime(withBn);
  try {
    rt.computeGradients(pixels, [36], labels, N); // non-trivial BN statistics
    const exported = await rt.exportModel();
    const json = JSON.parse(exported.modelJson) as tf.io.ModelJSON;
    assert.deepEqual(json.weightsManifest[0]?.paths, ['weights.bin']);
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0]?.weights ?? [],
        weightData: exported.weights.buffer.slice(
          exported.weights.byteOffset,
          exported.weights.byteOffset + exported.weights.byteLength,
        ),
      }),
    );
    try {
      const x = tf.tensor2d(
        Float32Array.from(pixels, (p) => p / 255),
        [N, 36],
      );
      const probs = tf.softmax(loaded.predict(x) as tf.Tensor).dataSync();
      x.dispose();
      const ours = rt.evaluate(pixels, labels, N).probabilities;
      for (let i = 0; i < ours.length; i++)
        assert.ok(Math.abs((probs[i] as number) - (ours[i] as number)) < 1e-5);
    } finally {
      loaded.dispose();
    }
  } finally {
    rt.dispose();
  }
});

void test('CNN and MLP gradients on wasm (fused kernels, heap kernels) equal the cpu backend', async () => {
  const cnn: LayerSpec[] = [
    { type: 'reshape', targetShape: [6, 6, 1] },
    { type: 'conv2d', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'conv2d', filters: 5, kernelSize: 2, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 3 },
  ];
  // A wide first layer (36 x 2048) with 16 rows: its forward runs transposed on wasm (packs the
  // batch, not the kernel; build-model.ts transposedForward), linear and relu.
  const wide: LayerSpec[] = [
    { type: 'dense', units: 2048, activation: 'relu' },
    { type: 'dense', units: 2048 },
    { type: 'dense', units: 3 },
  ];
  for (const layers of [cnn, plain, wide]) {
    const run = async (
      backend: 'cpu' | 'wasm',
    ): Promise<{ grads: ParamMap; loss: number; probs: Float32Array }> => {
      await selectBackend(backend);
      const rt = runtime(layers);
      try {
        // Non-zero biases, so a bias added wrongly shows.
        const params = initialParameters(rt.variables, 5);
        for (const [name, v] of params)
          if (name.endsWith('/bias')) for (let i = 0; i < v.length; i++) v[i] = 0.1 * Math.sin(i + 1);
        rt.setParameters(params);
        const r = rt.computeGradients(pixels, [36], labels, N);
        return { grads: r.grads, loss: r.lossSum, probs: rt.evaluate(pixels, labels, N).probabilities };
      } finally {
        rt.dispose();
      }
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    assertMapsEqual(got.grads, ref.grads, 1e-4);
    assert.ok(Math.abs(got.loss - ref.loss) < 1e-4 * Math.max(1, Math.abs(ref.loss)));
    got.probs.forEach((p, i) => assert.ok(Math.abs(p - (ref.probs[i] as number)) < 1e-5));
  }
});
