import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ValidationError } from '../errors.ts';
import type { LayerSpec } from '../job-spec.ts';
import { initialParameters } from '../ps/init.ts';
import { selectBackend } from './backend.ts';
import { buildModel } from './build-model.ts';
import { ModelRuntime } from './model-runtime.ts';
import { inferShapes } from './validate.ts';
import { modelVariables } from './variables.ts';

await selectBackend('wasm');

const T = 6;
const lstmModel: LayerSpec[] = [
  { type: 'embedding', inputDim: 20, outputDim: 4, maskZero: true },
  { type: 'lstm', units: 5 },
  { type: 'dense', units: 3 },
];

test('shapes are batch-first: an LSTM receives (batch, time, features)', () => {
  const shapes = inferShapes(lstmModel, [T]);
  assert.deepEqual(shapes[1]?.input, [T, 4]);
  const model = buildModel(lstmModel, { inputShape: [T] });
  try {
    const lstm = model.layers[1] as tf.layers.Layer;
    assert.deepEqual((lstm.input as tf.SymbolicTensor).shape, [null, T, 4]);
    const out = tf.tidy(() => (model.predict(tf.zeros([2, T], 'int32')) as tf.Tensor).shape);
    assert.deepEqual(out, [2, 3]);
  } finally {
    model.dispose();
  }
});

test('a wrong stacking is rejected naming the layer', () => {
  const bad: LayerSpec[] = [
    { type: 'embedding', inputDim: 20, outputDim: 4 },
    { type: 'flatten' },
    { type: 'lstm', units: 5 },
    { type: 'dense', units: 3 },
  ];
  assert.throws(
    () => inferShapes(bad, [T]),
    (e: Error) =>
      e instanceof ValidationError &&
      e.field === 'spec.model.layers[2].type' &&
      /\(batch, time, features\).*layers\[1\] \(flatten\)/.test(e.message),
  );
  assert.throws(
    () =>
      inferShapes(
        [
          { type: 'dense', units: 3 },
          { type: 'embedding', inputDim: 9, outputDim: 2 },
        ],
        [T],
      ),
    (e: Error) => e instanceof ValidationError && e.field === 'spec.model.layers[1].type',
  );
  assert.throws(
    () => inferShapes([{ type: 'embedding', outputDim: 2 }, { type: 'globalMaxPooling1d' }], [T]),
    (e: Error) => e instanceof ValidationError && e.field === 'spec.model.layers[0].inputDim',
  );
});

test('the <pad> row starts zero, gets no gradient, and stays zero through training', () => {
  for (const layers of [
    lstmModel,
    [
      { type: 'embedding', inputDim: 20, outputDim: 4 },
      { type: 'globalAveragePooling1d' },
      { type: 'dense', units: 3 },
    ] as LayerSpec[],
  ]) {
    const rt = new ModelRuntime({ layers, loss: 'softmaxCrossEntropy', inputShape: [T], numClasses: 3 });
    try {
      const params = initialParameters(rt.variables, 3);
      const emb = params.get('l0_embedding/embeddings') as Float32Array;
      assert.deepEqual([...emb.subarray(0, 4)], [0, 0, 0, 0]);
      assert.ok(emb.subarray(4).some((v) => v !== 0));
      rt.setParameters(params);
      const x = new Int32Array([3, 4, 5, 0, 0, 0, 7, 8, 9, 10, 11, 0]);
      const before = tf.memory().numTensors;
      for (let s = 0; s < 5; s++) {
        const { grads } = rt.computeGradients(x, [T], new Int32Array([0, 2]), 2);
        const g = grads.get('l0_embedding/embeddings') as Float32Array;
        assert.equal(g.length, 80, 'a dense float32 gradient');
        assert.deepEqual([...g.subarray(0, 4)], [0, 0, 0, 0]);
        assert.ok(
          g.subarray(12, 16).some((v) => v !== 0),
          'a used token gets a gradient',
        );
        // SGD step applied the way the parameter server does it.
        const p = rt.getParameters();
        for (const [name, gv] of grads) {
          const v = p.get(name) as Float32Array;
          for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) - 0.5 * (gv[i] as number);
        }
        rt.setParameters(p);
      }
      assert.equal(tf.memory().numTensors, before, 'no tensors leak across steps');
      const after = rt.getParameters().get('l0_embedding/embeddings') as Float32Array;
      assert.deepEqual([...after.subarray(0, 4)], [0, 0, 0, 0]);
    } finally {
      rt.dispose();
    }
  }
});

test('recurrent, bidirectional and conv1d variables match what tfjs builds', () => {
  const layers: LayerSpec[] = [
    { type: 'embedding', inputDim: 20, outputDim: 4 },
    { type: 'conv1d', filters: 3, kernelSize: 2, activation: 'relu' },
    { type: 'bidirectional', layer: { type: 'gru', units: 2, returnSequences: true } },
    { type: 'lstm', units: 2 },
    { type: 'dense', units: 3 },
  ];
  const model = buildModel(layers, { inputShape: [T] });
  try {
    const names = modelVariables(model).map((v) => `${v.name}:${v.shape.join('x')}`);
    assert.deepEqual(names, [
      'l0_embedding/embeddings:20x4',
      'l1_conv1d/kernel:2x4x3',
      'l1_conv1d/bias:3',
      'l2_bidirectional/forward_gru/kernel:3x6',
      'l2_bidirectional/forward_gru/recurrent_kernel:2x6',
      'l2_bidirectional/forward_gru/bias:6',
      'l2_bidirectional/backward_gru/kernel:3x6',
      'l2_bidirectional/backward_gru/recurrent_kernel:2x6',
      'l2_bidirectional/backward_gru/bias:6',
      'l3_lstm/kernel:4x8',
      'l3_lstm/recurrent_kernel:2x8',
      'l3_lstm/bias:8',
      'l4_dense/kernel:2x3',
      'l4_dense/bias:3',
    ]);
  } finally {
    model.dispose();
  }
});
