import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.ts';
import { distrainProto } from '../proto.ts';
import { encodeTensor } from '../tensor-codec.ts';
import type { StreamBatchesResponse } from '../generated/distrain/v1/StreamBatchesResponse.ts';
import { decodeBatchMessage } from './batch-decoder.ts';

const method = distrainProto().DataLoaderService.service.StreamBatches;
const encode = (m: StreamBatchesResponse): Buffer => method!.responseSerialize(m);

function sample(): StreamBatchesResponse {
  return {
    epoch: 3,
    step: 200,
    stepsInEpoch: 469,
    globalBatchSize: 128,
    offset: 64,
    features: encodeTensor(Uint8Array.from([1, 2, 3, 4, 5, 6]), [3, 2, 1]),
    labels: encodeTensor(Int32Array.from([7, -1, 300000]), [3]),
    indices: [59999, 0, 128],
  };
}

test('decodeBatchMessage reads what protobufjs writes, at any byte offset', () => {
  const bytes = encode(sample());
  for (const shift of [0, 1, 2, 3]) {
    const backing = Buffer.alloc(bytes.length + shift);
    bytes.copy(backing, shift);
    const b = decodeBatchMessage(backing.subarray(shift));
    assert.deepEqual([b.epoch, b.step, b.stepsInEpoch, b.globalBatchSize, b.offset], [3, 200, 469, 128, 64]);
    assert.equal(b.features.dtype, 'uint8');
    assert.deepEqual(b.features.shape, [3, 2, 1]);
    assert.deepEqual([...b.features.data], [1, 2, 3, 4, 5, 6]);
    assert.ok(b.labels.data instanceof Int32Array);
    assert.deepEqual([...b.labels.data], [7, -1, 300000]);
    assert.deepEqual([...b.indices], [59999, 0, 128]);
    assert.equal(b.wireBytes, bytes.length);
  }
});

test('decodeBatchMessage: float32 tensors, zero defaults, unknown fields and unpacked indices', () => {
  const m = sample();
  m.epoch = 0;
  m.offset = 0;
  m.features = encodeTensor(Float32Array.from([1.5, -2.25]), [1, 2]);
  m.labels = encodeTensor(Float32Array.from([0.5]), [1]);
  m.indices = [5];
  // Appended fields merge into the message: an unknown field 15 (varint) and two unpacked indices.
  const extra = Buffer.from([(15 << 3) | 0, 0x96, 0x01, (7 << 3) | 0, 9, (7 << 3) | 0, 0x80, 0x01]);
  const b = decodeBatchMessage(Buffer.concat([encode(m), extra]));
  assert.equal(b.epoch, 0);
  assert.equal(b.offset, 0);
  assert.deepEqual([...b.features.data], [1.5, -2.25]);
  assert.deepEqual([...b.labels.data], [0.5]);
  assert.deepEqual([...b.indices], [5, 9, 128]);
});

test('decodeBatchMessage rejects truncated messages and size mismatches with a ValidationError', () => {
  const bytes = encode(sample());
  assert.throws(() => decodeBatchMessage(bytes.subarray(0, bytes.length - 4)), ValidationError);
  const m = sample();
  m.features = { dtype: 'DTYPE_UINT8', shape: [4, 2], data: Buffer.from([1, 2, 3]) };
  assert.throws(
    () => decodeBatchMessage(encode(m)),
    (err: unknown) => err instanceof ValidationError && err.field === 'features.data',
  );
  m.features = { dtype: 'DTYPE_UNSPECIFIED', shape: [1], data: Buffer.from([1]) };
  assert.throws(
    () => decodeBatchMessage(encode(m)),
    (err: unknown) => err instanceof ValidationError && err.field === 'features.dtype',
  );
});

test('decodeBatchMessage: packed indices of every varint width; a truncated last index is a ValidationError', () => {
  const m = sample();
  m.indices = [0, 127, 128, 16383, 16384, 2 ** 21, 2 ** 32 - 1];
  const b = decodeBatchMessage(encode(m));
  assert.ok(b.indices instanceof Uint32Array);
  assert.deepEqual([...b.indices], m.indices);
  assert.equal(b.lengths.length, 0);
  // indices [300] is `3a 02 ac 02`: cut the run short so its last byte still has the continuation bit.
  m.indices = [300];
  const bytes = encode(m);
  const at = bytes.indexOf(Buffer.from([(7 << 3) | 2, 2, 0xac, 0x02]));
  assert.ok(at >= 0);
  const cut = Buffer.concat([
    bytes.subarray(0, at),
    Buffer.from([(7 << 3) | 2, 1, 0xac]),
    bytes.subarray(at + 4),
  ]);
  assert.throws(
    () => decodeBatchMessage(cut),
    (err: unknown) => err instanceof ValidationError && /truncated varint/.test(err.message),
  );
});
