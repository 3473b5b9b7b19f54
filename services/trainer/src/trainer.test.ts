import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allFinite, divergence } from './trainer.ts';

void test('allFinite: true for finite values (any length), false for NaN or ±Infinity anywhere', () => {
  for (const n of [0, 1, 3, 4, 5, 1027]) {
    const data = Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 3e38 : -3e38));
    assert.equal(allFinite(data), true, `n ${n}`);
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      for (const at of n === 0 ? [] : [0, n - 1, n >> 1]) {
        const d = data.slice();
        d[at] = bad;
        assert.equal(allFinite(d), false, `n ${n} ${bad} at ${at}`);
      }
    }
  }
  // Huge finite values do not overflow the float64 sums.
  assert.equal(allFinite(new Float32Array(100_000).fill(3.4e38)), true);
});

void test('divergence names the loss, or the first non-finite gradient and its value', () => {
  const at = { step: 7, epoch: 2 };
  const grads = new Map([
    ['a', new Float32Array([1, 2, 3])],
    ['b', new Float32Array([4, 5, 6, 7, 8])],
  ]);
  assert.equal(divergence(1.5, grads, at), undefined);
  assert.match(
    divergence(Number.NaN, grads, at) ?? '',
    /^loss became NaN at step 7, epoch 2; lower learningRate/,
  );
  (grads.get('b') as Float32Array)[4] = -Infinity;
  assert.match(divergence(1.5, grads, at) ?? '', /^gradient of b became -Infinity at step 7, epoch 2/);
});
