import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayerSpec } from '../job-spec.ts';
import { selectBackend } from './backend.ts';
import { readFashionMnistSplit } from './fashion-mnist-fixture.ts';
import { trainReference } from './reference-loop.ts';

const backend = await selectBackend('wasm');
const full = readFashionMnistSplit('train');
const train = {
  features: full.features.subarray(0, 20000 * 784),
  labels: full.labels.subarray(0, 20000),
  count: 20000,
};
const t10k = readFashionMnistSplit('t10k');
const testSplit = {
  features: t10k.features.subarray(0, 2000 * 784),
  labels: t10k.labels.subarray(0, 2000),
  count: 2000,
};

void test('reference loop: a tiny CNN trains on wasm (conv gradients) and its loss falls', () => {
  const layers: LayerSpec[] = [
    { type: 'reshape', targetShape: [28, 28, 1] },
    { type: 'conv2d', filters: 8, kernelSize: 3, activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10 },
  ];
  const losses: number[] = [];
  const result = trainReference({
    layers,
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.002 },
    batchSize: 64,
    epochs: 1,
    seed: 3,
    train,
    test: testSplit,
    featureShape: [784],
    featureScale: 1 / 255,
    numClasses: 10,
    maxStepsPerEpoch: 300,
    onStep: (_step, loss) => losses.push(loss),
  });
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(losses.slice(0, 20));
  const lastLosses = mean(losses.slice(-50));
  const e = result.epochs[0];
  console.log(
    `${backend.backend} tiny CNN: loss ${first.toFixed(3)} -> ${lastLosses.toFixed(3)} over ${losses.length} steps, ` +
      `test accuracy ${e?.testAccuracy.toFixed(4)}, ${e?.samplesPerSecond.toFixed(0)} samples/s`,
  );
  assert.equal(losses.length, 300);
  assert.ok(lastLosses < 0.6 * first, `loss ${first} -> ${lastLosses}`);
  assert.ok((e?.testAccuracy ?? 0) > 0.7, `test accuracy ${e?.testAccuracy}`);
});
