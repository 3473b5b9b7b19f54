import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerSpec } from '../job-spec.ts';
import { selectBackend } from './backend.ts';
import { readFashionMnistSplit } from './fashion-mnist-fixture.ts';
import { trainReference } from './reference-loop.ts';

const backend = await selectBackend('wasm');
const train = readFashionMnistSplit('train');
const testSplit = readFashionMnistSplit('t10k');

void test('reference loop: MLP 784-256-128-10 reaches 85% on Fashion-MNIST within 3 epochs (wasm, Adam)', () => {
  const layers: LayerSpec[] = [
    { type: 'dense', units: 256, activation: 'relu' },
    { type: 'dropout', rate: 0.2 },
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dense', units: 10 },
  ];
  const result = trainReference({
    layers,
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.001 },
    batchSize: 128,
    epochs: 3,
    seed: 1,
    train,
    test: testSplit,
    featureShape: [784],
    featureScale: 1 / 255,
    numClasses: 10,
    targetAccuracy: 0.85,
  });
  for (const e of result.epochs) {
    console.log(
      `${backend.backend} MLP epoch ${e.epoch}: test accuracy ${e.testAccuracy.toFixed(4)}, test loss ${e.testLoss.toFixed(4)}, ` +
        `${e.samplesPerSecond.toFixed(0)} samples/s, ${e.seconds.toFixed(1)} s`,
    );
  }
  const last = result.epochs[result.epochs.length - 1];
  assert.ok(last !== undefined && last.testAccuracy >= 0.85, `test accuracy ${last?.testAccuracy}`);
});

void test('reference loop: evaluateEvery measures test accuracy every N steps, its time kept out of training', () => {
  const options = {
    layers: [{ type: 'dense', units: 10 }] as LayerSpec[],
    loss: 'softmaxCrossEntropy' as const,
    optimizer: { type: 'adam' as const, learningRate: 0.01 },
    batchSize: 64,
    epochs: 2,
    maxStepsPerEpoch: 25,
    seed: 1,
    train,
    test: {
      count: 500,
      features: testSplit.features.subarray(0, 500 * 784),
      labels: testSplit.labels.subarray(0, 500),
    },
    featureShape: [784],
    featureScale: 1 / 255,
    numClasses: 10,
  };
  const result = trainReference({ ...options, evaluateEvery: 10 });
  // Steps count on across epochs: 50 steps in all, evaluated after steps 10, 20, ..., 50.
  assert.deepEqual(
    result.evaluations.map((e) => e.step),
    [10, 20, 30, 40, 50],
  );
  const seconds = result.evaluations.map((e) => e.seconds);
  for (let i = 1; i < seconds.length; i++)
    assert.ok((seconds[i] as number) > (seconds[i - 1] as number), `seconds ${seconds.join(', ')}`);
  const trained = result.epochs.reduce((a, e) => a + e.seconds, 0);
  const last = result.evaluations.at(-1);
  assert.ok(
    last !== undefined && last.seconds <= trained + 1e-9,
    `last evaluation at ${last?.seconds} s of ${trained} s`,
  );
  assert.ok(last.testAccuracy > 0.5, `accuracy ${last.testAccuracy}`);
  assert.equal(trainReference(options).evaluations.length, 0);
});
