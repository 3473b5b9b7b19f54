import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './backend.ts';
import { labelsTensor, lossSum, perSampleLoss } from './losses.ts';

await selectBackend('cpu');

function close(a: number, b: number, tol = 1e-5): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
}

void test('softmax cross-entropy: sum over samples of logsumexp - logit[label], gradient softmax - onehot', () => {
  const logits = [
    [1, 2, 3],
    [0.5, -1, 0],
  ];
  const labels = Int32Array.from([2, 0]);
  const hand = logits.map(
    (row, i) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - (row[labels[i] as number] as number),
  );
  tf.tidy(() => {
    const x = tf.tensor2d(logits);
    const y = labelsTensor('softmaxCrossEntropy', labels, 2, 3);
    const per = perSampleLoss('softmaxCrossEntropy', x, y).dataSync();
    hand.forEach((h, i) => close(per[i] as number, h));
    close(
      lossSum('softmaxCrossEntropy', x, y).dataSync()[0] as number,
      (hand[0] as number) + (hand[1] as number),
    );
    const g = tf
      .grad((z: tf.Tensor) => lossSum('softmaxCrossEntropy', z, y))(x)
      .arraySync() as number[][];
    logits.forEach((row, i) => {
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      row.forEach((v, j) => close(g[i]?.[j] as number, Math.exp(v) / z - (j === labels[i] ? 1 : 0)));
    });
  });
});

void test('sigmoid cross-entropy: binary [n] and multi-label [n, k] (mean over outputs)', () => {
  const bce = (x: number, z: number): number =>
    -(z * Math.log(1 / (1 + Math.exp(-x))) + (1 - z) * Math.log(1 - 1 / (1 + Math.exp(-x))));
  tf.tidy(() => {
    const x = tf.tensor2d([[2], [-1], [0.3]]);
    const y = labelsTensor('sigmoidCrossEntropy', Float32Array.from([1, 0, 0]), 3, 1);
    close(lossSum('sigmoidCrossEntropy', x, y).dataSync()[0] as number, bce(2, 1) + bce(-1, 0) + bce(0.3, 0));
    const xm = tf.tensor2d([
      [2, -3],
      [0.5, 40],
    ]);
    const ym = labelsTensor('sigmoidCrossEntropy', Float32Array.from([1, 0, 0, 1]), 2, 2);
    const per = perSampleLoss('sigmoidCrossEntropy', xm, ym).dataSync();
    close(per[0] as number, (bce(2, 1) + bce(-3, 0)) / 2);
    close(per[1] as number, (bce(0.5, 0) + 0) / 2, 1e-4);
  });
});

void test('mean squared error: sum over samples of the per-sample mean over outputs', () => {
  tf.tidy(() => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 5],
    ]);
    const y = labelsTensor('meanSquaredError', Float32Array.from([0, 2, 3, 1]), 2, 2);
    close(lossSum('meanSquaredError', x, y).dataSync()[0] as number, (1 + 0) / 2 + (0 + 16) / 2);
    // Class ids with k outputs are one-hot targets.
    const ids = labelsTensor('meanSquaredError', Int32Array.from([1, 0]), 2, 2);
    close(lossSum('meanSquaredError', x, ids).dataSync()[0] as number, (1 + 1) / 2 + (4 + 25) / 2);
  });
});
