import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBatch, WIRE_DTYPE } from './batch-encoder.ts';
import type { EncodeLayout } from './batch-encoder.ts';
import { PendingBatch, serializePending } from './pending-batch.ts';

const count = 64;
const layout: EncodeLayout = {
  split: {
    count,
    features: Uint8Array.from({ length: count * 10 }, (_, i) => (i * 7) % 256),
    labels: Int32Array.from({ length: count }, (_, i) => i),
  },
  featureShape: [10],
  featureWireDType: WIRE_DTYPE.uint8,
  labelWireDType: WIRE_DTYPE.int32,
};
const order = Uint32Array.from({ length: count }, (_, i) => (i * 29) % count);
const header = (step: number, n: number) => ({
  epoch: 1,
  step,
  stepsInEpoch: 8,
  globalBatchSize: n,
  offset: 0,
});

test('serializePending writes the same bytes as encodeBatch', () => {
  for (const n of [0, 1, 31, 64]) {
    const p = new PendingBatch(layout, header(0, n), order, 0, n);
    const want = encodeBatch(layout, header(0, n), order, 0, n);
    assert.equal(p.bytes, want.length);
    assert.deepEqual(serializePending(p), want);
  }
});
