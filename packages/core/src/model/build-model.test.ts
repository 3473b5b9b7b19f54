import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ValidationError } from '../errors.ts';
import type { LayerSpec } from '../job-spec.ts';
import { selectBackend } from './backend.ts';
import { buildModel } from './build-model.ts';
import { describeModel } from './describe.ts';
import { checkOutputMatchesClasses } from './validate.ts';
import { modelVariables } from './variables.ts';

await selectBackend('cpu');

const cnn: LayerSpec[] = [
  { type: 'reshape', targetShape: [28, 28, 1] },
  { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
  { type: 'batchNormalization' },
  { type: 'maxPooling2d' },
  { type: 'flatten' },
  { type: 'dense', units: 16 },
  { type: 'activation', activation: 'relu' },
  { type: 'dropout', rate: 0.5 },
  { type: 'dense', units: 10 },
];

void test('variables: stable names, model.weights order, initializers and Keras fans', () => {
  const model = buildModel(cnn, { inputShape: [784] });
  try {
    assert.deepEqual(
      model.layers.map((l) => l.name),
      [
        'l0_reshape',
        'l1_conv2d',
        'l2_batchNormalization',
        'l3_maxPooling2d',
        'l4_flatten',
        'l5_dense',
        'l6_activation',
        'l7_dropout',
        'l8_dense',
      ],
    );
    const vars = modelVariables(model);
    assert.deepEqual(
      vars.map((v) => [v.name, v.shape, v.initializer, v.fanIn, v.fanOut, v.trainable]),
      [
        ['l1_conv2d/kernel', [3, 3, 1, 4], 'heNormal', 9, 36, true],
        ['l1_conv2d/bias', [4], 'zeros', 4, 4, true],
        ['l2_batchNormalization/gamma', [4], 'ones', 4, 4, true],
        ['l2_batchNormalization/beta', [4], 'zeros', 4, 4, true],
        ['l5_dense/kernel', [13 * 13 * 4, 16], 'heNormal', 676, 16, true],
        ['l5_dense/bias', [16], 'zeros', 16, 16, true],
        ['l8_dense/kernel', [16, 10], 'glorotUniform', 16, 10, true],
        ['l8_dense/bias', [10], 'zeros', 10, 10, true],
        ['l2_batchNormalization/moving_mean', [4], 'zeros', 4, 4, false],
        ['l2_batchNormalization/moving_variance', [4], 'ones', 4, 4, false],
      ],
    );
    // Same as tfjs's own order, so getWeights/setWeights and saved manifests agree.
    assert.deepEqual(
      model.weights.map((w) => w.originalName),
      vars.map((v) => v.name),
    );
  } finally {
    model.dispose();
  }
  // A second build in the same process gets the same names (tfjs would suffix _1 on its counters).
  const again = buildModel(cnn, { inputShape: [784], portable: true });
  try {
    assert.deepEqual(modelVariables(again).map((v) => v.name)[0], 'l1_conv2d/kernel');
  } finally {
    again.dispose();
  }
});

void test('describeModel builds, reports and leaves no tensors', () => {
  const before = tf.memory().numTensors;
  const d = describeModel(cnn, [784]);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(d.outputShape, [10]);
  assert.equal(d.parameterCount, 36 + 4 + 16 + 676 * 16 + 16 + 160 + 10);
});

void test('invalid layers name the field', () => {
  const err = (layers: LayerSpec[], shape: number[]): ValidationError => {
    try {
      describeModel(layers, shape);
    } catch (e) {
      assert.ok(e instanceof ValidationError, String(e));
      return e;
    }
    assert.fail('expected a ValidationError');
  };
  assert.equal(
    err([{ type: 'conv2d', filters: 2, kernelSize: 3 }], [784]).field,
    'spec.model.layers[0].type',
  );
  assert.match(err([{ type: 'conv2d', filters: 2, kernelSize: 3 }], [784]).message, /rank 3/);
  assert.equal(
    err(
      [
        { type: 'dense', units: 4 },
        { type: 'reshape', targetShape: [3, 3] },
      ],
      [8],
    ).field,
    'spec.model.layers[1].targetShape',
  );
  assert.equal(err([{ type: 'dense', units: 0 }], [8]).field, 'spec.model.layers[0].units');
  assert.equal(err([{ type: 'dropout', rate: 1 }], [8]).field, 'spec.model.layers[0].rate');
  assert.equal(
    err(
      [
        { type: 'reshape', targetShape: [2, 2, 1] },
        { type: 'conv2d', filters: 1, kernelSize: 3 },
      ],
      [4],
    ).field,
    'spec.model.layers[1].kernelSize',
  );
});

void test('output units must match the classes', () => {
  const layers: LayerSpec[] = [
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dense', units: 10 },
  ];
  assert.throws(
    () => checkOutputMatchesClasses(layers, [784], 2, 'softmaxCrossEntropy'),
    (e: unknown) =>
      e instanceof ValidationError &&
      e.field === 'spec.model.layers[1].units' &&
      e.message.includes('the output layer has 10 units but the dataset has 2 classes; set units to 2'),
  );
  checkOutputMatchesClasses(layers, [784], 10, 'softmaxCrossEntropy');
  checkOutputMatchesClasses([{ type: 'dense', units: 1 }], [4], 2, 'sigmoidCrossEntropy');
  assert.throws(
    () =>
      checkOutputMatchesClasses(
        [{ type: 'dense', units: 10, activation: 'softmax' }],
        [4],
        10,
        'softmaxCrossEntropy',
      ),
    (e: unknown) => e instanceof ValidationError && e.field === 'spec.model.layers[0].activation',
  );
});

/** Gradients of a squared error w.r.t. every trainable weight, by tfjs autodiff through the model. */
function gradsOf(m: tf.LayersModel, x: tf.Tensor, t: tf.Tensor): tf.Tensor[] {
  const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.square(tf.sub(m.apply(x, { training: true }) as tf.Tensor, t))),
    vars,
  );
  return vars.map((v) => grads[v.name] as tf.Tensor);
}

function assertGradsClose(a: tf.Tensor[], b: tf.Tensor[], tol = 1e-5): void {
  assert.equal(a.length, b.length);
  a.forEach((g, i) => {
    const other = b[i] as tf.Tensor;
    assert.deepEqual(g.shape, other.shape);
    const diff = tf.max(tf.abs(tf.sub(g, other))).dataSync()[0] ?? 1;
    const scale = tf.max(tf.abs(other)).dataSync()[0] ?? 1;
    assert.ok(diff <= tol * Math.max(1, scale), `variable ${i}: max diff ${diff}`);
  });
}

void test('fast conv2d gradient equals tfjs autodiff of the stock conv2d layer (cpu)', () => {
  const layers: LayerSpec[] = [
    { type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu' },
    { type: 'conv2d', filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'tanh' },
    { type: 'maxPooling2d' },
    { type: 'conv2d', filters: 2, kernelSize: 1, useBias: false },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
  ];
  const fast = buildModel(layers, { inputShape: [11, 10, 2], seed: 4 });
  const stock = buildModel(layers, { inputShape: [11, 10, 2], seed: 4, portable: true });
  try {
    stock.setWeights(fast.getWeights());
    const x = tf.randomNormal([5, 11, 10, 2], 0, 1, 'float32', 1);
    const t = tf.randomNormal([5, 3], 0, 1, 'float32', 2);
    const a = gradsOf(fast, x, t);
    assert.equal(a.length, 7);
    assertGradsClose(a, gradsOf(stock, x, t));
    assert.deepEqual(fast.outputs[0]?.shape, stock.outputs[0]?.shape);
    const yf = (fast.predict(x) as tf.Tensor).dataSync();
    const ys = (stock.predict(x) as tf.Tensor).dataSync();
    yf.forEach((v, i) => assert.ok(Math.abs(v - (ys[i] as number)) < 1e-5, `output ${i}: ${v} vs ${ys[i]}`));
  } finally {
    fast.dispose();
    stock.dispose();
  }
});

void test('fast dense gradient equals tfjs autodiff of the stock dense layer (cpu)', () => {
  const layers: LayerSpec[] = [
    { type: 'dense', units: 7, activation: 'relu' },
    { type: 'dense', units: 5, activation: 'tanh' },
    { type: 'dense', units: 3, useBias: false },
  ];
  const fast = buildModel(layers, { inputShape: [6], seed: 3 });
  const stock = buildModel(layers, { inputShape: [6], seed: 3, portable: true });
  try {
    stock.setWeights(fast.getWeights());
    const x = tf.randomNormal([9, 6], 0, 1, 'float32', 1);
    const t = tf.randomNormal([9, 3], 0, 1, 'float32', 2);
    const a = gradsOf(fast, x, t);
    assert.equal(a.length, 5);
    assertGradsClose(a, gradsOf(stock, x, t));
    assert.deepEqual(
      Array.from((fast.predict(x) as tf.Tensor).dataSync()).map((v) => v.toFixed(4)),
      Array.from((stock.predict(x) as tf.Tensor).dataSync()).map((v) => v.toFixed(4)),
    );
  } finally {
    fast.dispose();
    stock.dispose();
  }
});
