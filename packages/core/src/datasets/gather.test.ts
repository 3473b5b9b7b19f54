import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatherBatch } from './gather.ts';

test('gatherBatch copies samples in order into contiguous arrays with their indices', () => {
  const split = {
    count: 4,
    features: Uint8Array.from([0, 1, 10, 11, 20, 21, 30, 31]),
    labels: Int32Array.from([5, 6, 7, 8]),
  };
  const order = Uint32Array.from([3, 0, 2, 1]);
  const b = gatherBatch(split, order, 1, 2);
  assert.ok(b.features instanceof Uint8Array);
  assert.deepEqual([...b.features], [0, 1, 20, 21]);
  assert.deepEqual([...b.labels], [5, 7]);
  assert.deepEqual([...b.indices], [0, 2]);
  const f = gatherBatch(
    { count: 2, features: Float32Array.from([1.5, 2.5]), labels: Float32Array.from([0.1, 0.2]) },
    [1, 0],
    0,
    2,
  );
  assert.ok(f.features instanceof Float32Array);
  assert.deepEqual([...f.features], [2.5, 1.5]);
  assert.throws(() => gatherBatch(split, order, 3, 2), RangeError);
});
