import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float32Digest } from './checksum.ts';
import { OptimizerArena } from './optimizer-kernel.ts';

const checksum = (arrays: Float32Array[], from = 0): number => float32Digest(arrays, from).checksum;

/** A copy of `a` in an OptimizerArena (the SIMD path). */
function inArena(a: Float32Array): Float32Array {
  const arena = OptimizerArena.create(a.length, 1, 4) as OptimizerArena;
  const copy = arena.alloc(a.length);
  copy.set(a);
  return copy;
}

void test('float32Digest: the checksum is order- and partition-free, changed by any one bit', () => {
  const whole = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e6 - i);
  const sum = checksum([whole]);
  // Split anywhere (odd lengths, odd offsets) and in any order: the same checksum, as shards give.
  const a = whole.subarray(0, 333);
  const b = whole.subarray(333, 334);
  const c = whole.subarray(334);
  assert.equal(checksum([c, a, b]), sum);
  assert.equal((checksum([a]) + checksum([b, c])) >>> 0, sum);
  assert.equal(checksum([b, c], checksum([a])), sum);
  // The plain definition: sum of the uint32 bit patterns modulo 2^32.
  let want = 0n;
  for (const u of new Uint32Array(whole.buffer)) want += BigInt(u);
  assert.equal(sum, Number(want % 2n ** 32n));
  // The arena's SIMD kernel agrees, for any length (its padding adds zeros), mixed with plain arrays.
  assert.equal(checksum([inArena(whole)]), sum);
  assert.equal(checksum([inArena(a), b, inArena(c)]), sum);
  // Flipping any single bit (the lowest mantissa bit here, a rounding difference) changes it.
  for (const i of [0, 1, 500, 1000]) {
    const copy = new Float32Array(whole);
    const u = new Uint32Array(copy.buffer);
    u[i] = (u[i] as number) ^ 1;
    assert.notEqual(checksum([copy]), sum, `bit flip at ${i}`);
    assert.notEqual(checksum([inArena(copy)]), sum, `bit flip at ${i} (arena)`);
  }
  assert.equal(checksum([]), 0);
  assert.equal(checksum([new Float32Array(0)], 7), 7);
});

void test('float32Digest: finite unless some value is NaN or infinite, on both paths', () => {
  const base = Float32Array.from({ length: 37 }, (_, i) => (i - 18) * 3.4e37); // up to +-6.1e38: overflows to inf
  assert.equal(float32Digest([base]).finite, false);
  const ok = Float32Array.from({ length: 37 }, (_, i) => (i - 18) * 1.7e37);
  ok[3] = 3.4028234663852886e38; // the largest finite float32
  ok[4] = -0;
  ok[5] = 1e-45; // a subnormal
  assert.equal(float32Digest([ok]).finite, true);
  assert.equal(float32Digest([inArena(ok)]).finite, true);
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const at of [0, 17, 36]) {
      const x = new Float32Array(ok);
      x[at] = bad;
      assert.equal(float32Digest([ok, x]).finite, false, `${bad} at ${at}`);
      assert.equal(float32Digest([inArena(ok), inArena(x)]).finite, false, `${bad} at ${at} (arena)`);
    }
  }
});
