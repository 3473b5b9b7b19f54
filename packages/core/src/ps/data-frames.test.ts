import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.ts';
import { encodeTensor } from '../tensor-codec.ts';
import { fillTensorData, splitTensorData } from './data-frames.ts';
import { decodePushPullRequest, encodePushPullRequest } from './fast-codecs.ts';

void test('splitTensorData views the data without copying; fillTensorData puts it back in order', () => {
  const a = new Float32Array([1, 2, 3, 4]);
  const b = new Float32Array([5, 6]);
  const { headers, frames } = splitTensorData([
    { name: 'a', tensor: encodeTensor(a, [4]) },
    { name: 'b', tensor: encodeTensor(b, [2]) },
  ]);
  assert.equal(frames.length, 2);
  assert.equal(frames[0]?.buffer, a.buffer, 'the frame views the array');
  assert.equal(frames[0]?.byteOffset, a.byteOffset);
  const body = encodePushPullRequest({ jobId: 'j', rank: 0, step: 3, sampleCount: 2, grads: headers });
  assert.ok(body);
  assert.ok(body.length < 64, `the body holds no tensor data (${body.length} bytes)`);
  const req = decodePushPullRequest(body);
  fillTensorData(
    [
      { field: 'grads', list: req.grads },
      { field: 'states', list: req.states },
    ],
    frames,
  );
  assert.deepEqual(
    req.grads.map((g) => [...new Float32Array(new Uint8Array(g.tensor?.data ?? []).buffer)]),
    [
      [1, 2, 3, 4],
      [5, 6],
    ],
  );
  assert.deepEqual(req.grads[0]?.tensor?.shape, [4]);
});

void test('fillTensorData: no frames leaves an inline message; a wrong count or inline data with frames is rejected', () => {
  const inline = decodePushPullRequest(
    encodePushPullRequest({
      jobId: 'j',
      grads: [{ name: 'a', tensor: encodeTensor(new Float32Array([1, 2]), [2]) }],
    }) as Buffer,
  );
  fillTensorData([{ field: 'grads', list: inline.grads }], []);
  assert.equal(inline.grads[0]?.tensor?.data.length, 8);
  assert.throws(
    () => fillTensorData([{ field: 'grads', list: inline.grads }], [Buffer.alloc(8)]),
    (err: unknown) => err instanceof ValidationError && err.field === 'grads[0].tensor.data',
  );
  assert.throws(
    () => fillTensorData([{ field: 'grads', list: inline.grads }], [Buffer.alloc(8), Buffer.alloc(8)]),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.field === 'data frames' &&
      /1 tensors but 2 data frames/.test(err.message),
  );
});
