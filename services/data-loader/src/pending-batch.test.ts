import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as immediate } from 'node:timers/promises';
import { encodeBatch, WIRE_DTYPE } from './batch-encoder.ts';
import type { EncodeLayout } from './batch-encoder.ts';
import { AheadEncoder, PendingBatch, serializePending } from './pending-batch.ts';

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

test('AheadEncoder: batches encoded ahead in idle time come out in order, byte-identical, in reused buffers', async () => {
  const ahead = new AheadEncoder(2);
  const steps = [0, 1, 2, 3, 4, 5, 6, 7];
  const want = steps.map((s) => encodeBatch(layout, header(s, 8), order, s * 8, 8));
  const batches = steps.map((s) => new PendingBatch(layout, header(s, 8), order, s * 8, 8));
  // The first one is serialized at once, as when the write reaches grpc-js synchronously.
  ahead.add(batches[0]!);
  assert.deepEqual(serializePending(batches[0]!), want[0]);
  for (const b of batches.slice(1)) ahead.add(b);
  await immediate();
  assert.deepEqual(
    batches.map((b) => b.encoded !== null),
    [false, true, true, false, false, false, false, false],
    'two batches (the depth) encoded ahead, the next ones wait for a free buffer',
  );
  const slots = new Set<ArrayBufferLike>();
  for (let s = 1; s < steps.length; s++) {
    const b = batches[s]!;
    if (b.encoded) slots.add(b.encoded.buffer);
    assert.deepEqual(serializePending(b), want[s], `step ${s}`);
    assert.equal(b.encoded, null);
    await immediate(); // idle time: the encoder refills
  }
  assert.equal(slots.size, 2, 'the two buffers are reused');
});
