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
