import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFloat32, decodeTensor, encodeTensor } from './tensor-codec.ts';
import { ValidationError } from './errors.ts';

test('encode/decode round-trips float32, int32 and uint8 with shape', () => {
  const cases = [
    { data: Float32Array.from([1.5, -2, 3.25, Number.NaN, Infinity, 0]), shape: [2, 3] },
    { data: Int32Array.from([-1, 2 ** 31 - 1, -(2 ** 31), 0]), shape: [4] },
    { data: Uint8Array.from([0, 255, 128]), shape: [1, 3] },
  ];
  for (const c of cases) {
    const wire = encodeTensor(c.data, c.shape);
    const back = decodeTensor(wire);
    assert.deepEqual(back.shape, c.shape);
    assert.equal(back.data.constructor, c.data.constructor);
    assert.deepEqual([...back.data], [...c.data]);
  }
});

test('encoding is zero-copy and little-endian', () => {
  const data = Float32Array.from([1]);
  const wire = encodeTensor(data, [1]);
  assert.equal((wire.data as Buffer).buffer, data.buffer);
  assert.deepEqual([...(wire.data as Buffer)], [0x00, 0x00, 0x80, 0x3f]); // 1.0f little-endian
});

test('an unaligned buffer is realigned before viewing as float32', () => {
  const floats = Float32Array.from([3.5, -7]);
  const backing = Buffer.alloc(9);
  Buffer.from(floats.buffer).copy(backing, 1); // starts at offset 1: not divisible by 4
  const unaligned = backing.subarray(1);
  assert.equal(unaligned.byteOffset % 4, 1);
  const back = decodeFloat32({ dtype: 'DTYPE_FLOAT32', shape: [2], data: unaligned });
  assert.deepEqual([...back.data], [3.5, -7]);
});

test('unknown dtypes, size mismatches and wrong dtypes are rejected naming the field', () => {
  assert.throws(
    () => decodeTensor({ dtype: 'DTYPE_UNSPECIFIED', shape: [1], data: Buffer.alloc(4) }, 'grads[0]'),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.field, 'grads[0].dtype');
      return true;
    },
  );
  assert.throws(
    () => decodeTensor({ dtype: 'DTYPE_FLOAT32', shape: [3], data: Buffer.alloc(8) }),
    /has 8 bytes but shape \[3\] of float32 needs 12/,
  );
  assert.throws(
    () => decodeFloat32({ dtype: 'DTYPE_UINT8', shape: [1], data: Buffer.alloc(1) }),
    /must be DTYPE_FLOAT32/,
  );
  assert.throws(() => encodeTensor(new Float32Array(3), [2, 2]), ValidationError);
});
