import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EpochEvaluation } from './evaluator.ts';

void test('regression epochs report MSE as test loss and the mean absolute error; accuracy is 0', () => {
  const e = new EpochEvaluation(0);
  // Per-sample MSE losses (1 output): (1.5-1)^2 = 0.25, (2-4)^2 = 4.
  e.add(Uint32Array.from([3, 7]), Float32Array.from([1, 4]), {
    lossSum: 4.25,
    predicted: new Int32Array(2),
    probabilities: Float32Array.from([1.5, 2]),
  });
  const r = e.result(1, 10, 0.1);
  assert.equal(r.regression, true);
  assert.equal(r.testLoss, 2.125);
  assert.equal(r.testMae, 1.25);
  assert.equal(r.testAccuracy, 0);
  assert.equal(e.csv().toString(), 'index,target,prediction\n3,1,1.5\n7,4,2\n');
});

void test('classification epochs are unchanged: accuracy, confusion, no MAE', () => {
  const e = new EpochEvaluation(2);
  e.add(Uint32Array.from([0, 1]), Int32Array.from([0, 1]), {
    lossSum: 1,
    predicted: Int32Array.from([0, 0]),
    probabilities: Float32Array.from([0.9, 0.1, 0.6, 0.4]),
  });
  const r = e.result(1, 1, 0);
  assert.equal(r.regression, false);
  assert.equal(r.testAccuracy, 0.5);
  assert.equal(r.testMae, 0);
  assert.deepEqual(r.confusion, [1, 0, 1, 0]);
});
