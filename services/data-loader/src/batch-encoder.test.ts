import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTensor } from '@distrain/core';
import { distrainProto } from '@distrain/core';
import type { StreamBatchesResponse__Output } from '@distrain/core';
import { decodeBatchMessage } from '@distrain/core/datasets';
import { encodeBatch, GRPC_PREFIX_BYTES, maxEncodedBytes, planBatch, WIRE_DTYPE } from './batch-encoder.ts';
import type { EncodeLayout } from './batch-encoder.ts';

const method = distrainProto().DataLoaderService.service.StreamBatches;
const decode = (buf: Buffer): StreamBatchesResponse__Output =>
  method.responseDeserialize(buf) as StreamBatchesResponse__Output;

test('encodeBatch output decodes with protobufjs to the gathered samples (uint8 features, int32 labels)', () => {
  const count = 300;
  const features = Uint8Array.from({ length: count * 6 }, (_, i) => (i * 7) % 256);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  const layout: EncodeLayout = {
    split: { count, features, labels },
    featureShape: [3, 2, 1],
    featureWireDType: WIRE_DTYPE.uint8,
    labelWireDType: WIRE_DTYPE.int32,
  };
  const order = Uint32Array.from({ length: count }, (_, i) => (i * 37) % count);
  const header = { epoch: 2, step: 3, stepsInEpoch: 5, globalBatchSize: 200, offset: 70 };
  const buf = encodeBatch(layout, header, order, 140, 130);
  assert.ok(buf.length <= maxEncodedBytes(layout, 130, header));
  const m = decode(buf);
  assert.equal(m.epoch, 2);
  assert.equal(m.step, 3);
  assert.equal(m.stepsInEpoch, 5);
  assert.equal(m.globalBatchSize, 200);
  assert.equal(m.offset, 70);
  const expectedIdx = [...order.subarray(140, 270)];
  assert.deepEqual(m.indices, expectedIdx);
  const f = decodeTensor(m.features!, 'features');
  assert.equal(f.dtype, 'uint8');
  assert.deepEqual(f.shape, [130, 3, 2, 1]);
  const want = new Uint8Array(130 * 6);
  expectedIdx.forEach((i, k) => want.set(features.subarray(i * 6, i * 6 + 6), k * 6));
  assert.deepEqual(f.data, want);
  const l = decodeTensor(m.labels!, 'labels');
  assert.equal(l.dtype, 'int32');
  assert.deepEqual(
    [...l.data],
    expectedIdx.map((i) => labels[i]),
  );
});

test('encodeBatch: consecutive rows (the unshuffled test split) are copied in one piece, other orders row by row, same bytes', () => {
  const count = 50;
  const features = Float32Array.from({ length: count * 3 }, (_, i) => i / 4);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 7);
  const layout: EncodeLayout = {
    split: { count, features, labels },
    featureShape: [3],
    featureWireDType: WIRE_DTYPE.float32,
    labelWireDType: WIRE_DTYPE.int32,
  };
  const header = { epoch: 0, step: 1, stepsInEpoch: 3, globalBatchSize: 20, offset: 0 };
  const identity = Uint32Array.from({ length: count }, (_, i) => i);
  // consecutive except the last two rows swapped: must take the row-by-row path
  const almost = Uint32Array.from(identity);
  [almost[38], almost[39]] = [almost[39] as number, almost[38] as number];
  for (const order of [identity, almost]) {
    const f = decodeTensor(decode(encodeBatch(layout, header, order, 20, 20)).features!, 'features');
    const want = new Float32Array(20 * 3);
    for (let k = 0; k < 20; k++)
      want.set(features.subarray(order[20 + k]! * 3, order[20 + k]! * 3 + 3), k * 3);
    assert.deepEqual(f.data, want);
  }
});

test('encodeBatch: float32 features and labels, zero header fields, empty slice', () => {
  const layout: EncodeLayout = {
    split: {
      count: 3,
      features: Float32Array.from([1.5, -2, 3.25, 4, 5, 6]),
      labels: Float32Array.from([0.5, 1.5, 2.5]),
    },
    featureShape: [2],
    featureWireDType: WIRE_DTYPE.float32,
    labelWireDType: WIRE_DTYPE.float32,
  };
  const order = Uint32Array.from([2, 0, 1]);
  const m = decode(
    encodeBatch(layout, { epoch: 0, step: 0, stepsInEpoch: 1, globalBatchSize: 3, offset: 0 }, order, 0, 2),
  );
  assert.equal(m.epoch, 0);
  assert.equal(m.offset, 0);
  assert.deepEqual([...decodeTensor(m.features!).data], [5, 6, 1.5, -2]);
  assert.deepEqual([...decodeTensor(m.labels!).data], [2.5, 0.5]);
  const empty = decode(
    encodeBatch(layout, { epoch: 1, step: 1, stepsInEpoch: 2, globalBatchSize: 1, offset: 1 }, order, 1, 0),
  );
  assert.deepEqual(decodeTensor(empty.features!).shape, [0, 2]);
  assert.deepEqual(empty.indices, []);
});

test('text batches: int32 token indices and their lengths on the wire, read alike by protobufjs and the hand decoder', async () => {
  const count = 50;
  const maxLength = 7;
  const features = Int32Array.from({ length: count * maxLength }, (_, i) =>
    i % maxLength < (i % 5) + 1 ? 300 + i : 0,
  );
  const lengths = Int32Array.from({ length: count }, (_, i) => ((i * maxLength) % 5) + 1);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
  const layout: EncodeLayout = {
    split: { count, features, labels, lengths },
    featureShape: [maxLength],
    featureWireDType: WIRE_DTYPE.int32,
    labelWireDType: WIRE_DTYPE.int32,
  };
  const order = Uint32Array.from({ length: count }, (_, i) => (i * 13) % count);
  const header = { epoch: 1, step: 0, stepsInEpoch: 3, globalBatchSize: 20, offset: 0 };
  const buf = encodeBatch(layout, header, order, 10, 20);
  assert.ok(buf.length <= maxEncodedBytes(layout, 20, header));
  const m = decode(buf);
  const f = decodeTensor(m.features!, 'features');
  assert.equal(m.features?.dtype, 'DTYPE_INT32');
  assert.equal(f.dtype, 'int32');
  assert.deepEqual(f.shape, [20, maxLength]);
  const idx = [...order.subarray(10, 30)];
  assert.deepEqual(
    m.lengths,
    idx.map((i) => lengths[i]),
  );
  const want = new Int32Array(20 * maxLength);
  idx.forEach((i, k) => want.set(features.subarray(i * maxLength, (i + 1) * maxLength), k * maxLength));
  assert.deepEqual(f.data, want);
  const d = decodeBatchMessage(buf);
  assert.ok(d.features.data instanceof Int32Array);
  assert.deepEqual(d.features.data, want);
  assert.deepEqual(
    [...d.lengths],
    idx.map((i) => lengths[i]),
  );
});

test('4-byte tensor data lands aligned behind the gRPC frame prefix, so the decoder views it in place', () => {
  const count = 40;
  const f32 = Float32Array.from({ length: count * 3 }, (_, i) => i / 4);
  const i32 = Int32Array.from({ length: count * 3 }, (_, i) => 1000 * i);
  const u8 = Uint8Array.from({ length: count * 3 }, (_, i) => i % 251);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 7);
  const layouts: [string, EncodeLayout][] = [
    [
      'float32',
      {
        split: { count, features: f32, labels },
        featureShape: [3],
        featureWireDType: WIRE_DTYPE.float32,
        labelWireDType: WIRE_DTYPE.int32,
      },
    ],
    [
      'int32',
      {
        split: { count, features: i32, labels },
        featureShape: [3],
        featureWireDType: WIRE_DTYPE.int32,
        labelWireDType: WIRE_DTYPE.int32,
      },
    ],
    [
      'uint8',
      {
        split: { count, features: u8, labels },
        featureShape: [3],
        featureWireDType: WIRE_DTYPE.uint8,
        labelWireDType: WIRE_DTYPE.int32,
      },
    ],
  ];
  const order = Uint32Array.from({ length: count }, (_, i) => (i * 17) % count);
  const pads = new Set<number>();
  for (const [name, layout] of layouts) {
    // Header varints of 0 to 3 bytes and slices of different sizes shift the data to every residue.
    for (const epoch of [0, 1, 200, 70000])
      for (const n of [1, 5, 16, 33]) {
        const header = { epoch, step: epoch * 3, stepsInEpoch: 90000, globalBatchSize: n, offset: epoch % 2 };
        const msg = encodeBatch(layout, header, order, 2, n);
        assert.ok(msg.length <= maxEncodedBytes(layout, n, header), `${name}: within the size bound`);
        const p = decode(msg);
        const plan = planBatch(layout, header, order, 2, n);
        pads.add(plan.labelPad).add(plan.featurePad);
        // As grpc-js hands it over: the 5-byte frame prefix, then the message, in a fresh buffer.
        const frame = Buffer.alloc(GRPC_PREFIX_BYTES + msg.length);
        msg.copy(frame, GRPC_PREFIX_BYTES);
        const b = decodeBatchMessage(frame.subarray(GRPC_PREFIX_BYTES));
        assert.equal(b.labels.data.buffer, frame.buffer, `${name} epoch ${epoch} n ${n}: labels are a view`);
        assert.equal(
          b.features.data.buffer,
          frame.buffer,
          `${name} epoch ${epoch} n ${n}: features are a view`,
        );
        const idx = [...order.subarray(2, 2 + n)];
        assert.deepEqual([...b.indices], idx);
        assert.deepEqual(
          [...b.labels.data],
          idx.map((i) => labels[i]),
        );
        const src = layout.split.features;
        assert.deepEqual(
          [...b.features.data],
          idx.flatMap((i) => [...src.subarray(i * 3, i * 3 + 3)]),
        );
        // protobufjs reads the same message (the padding is a declared field it ignores).
        assert.deepEqual(p.indices, idx);
        assert.deepEqual(
          [...decodeTensor(p.labels!).data],
          idx.map((i) => labels[i]),
        );
        assert.equal(p.epoch, epoch);
      }
  }
  assert.deepEqual([...pads].sort(), [0, 2, 3, 5], 'every padding size is exercised');
});
