import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptimizerArena } from './optimizer-kernel.ts';
import { applyGradients, compileOptimizer, createSlots, useOptimizerKernel } from './optimizers.ts';
import type { OptimizerConfig } from '../job-spec.ts';

// Awkward lengths (tails of 1-3 elements past the kernel's groups of 4) and values of very different
// magnitudes, so any reordering of floating-point operations would show.
// 4099: two float64 sum blocks of 2048 and a tail of 3 (three or more ranks).
const LENGTHS = [1, 2, 3, 5, 1023, 4099];
const values = (n: number, seed: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 10 ** ((i % 7) - 4));

const CONFIGS: OptimizerConfig[] = [
  { type: 'sgd', learningRate: 0.05 },
  { type: 'sgd', learningRate: 0.05, weightDecay: 0.01 },
  { type: 'momentum', learningRate: 0.05, momentum: 0.9 },
  { type: 'momentum', learningRate: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.001 },
  { type: 'adam', learningRate: 0.001 },
  { type: 'adam', learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.02 },
];

/** Runs three updates of `config` on `n` elements with `ranks` gradients, kernel on or off. */
function run(config: OptimizerConfig, n: number, ranks: number, kernel: boolean, inArena: boolean) {
  const s = compileOptimizer(config);
  const slotCount = createSlots(s.type, 0).length;
  const arena = inArena ? OptimizerArena.create(n * (1 + slotCount), 1 + slotCount, n) : undefined;
  const alloc = (k: number): Float32Array => (arena ? arena.alloc(k) : new Float32Array(k));
  const p = alloc(n);
  p.set(values(n, 1));
  const slots = Array.from({ length: slotCount }, () => alloc(n));
  useOptimizerKernel(kernel);
  try {
    for (let t = 1; t <= 3; t++) {
      const grads = Array.from({ length: ranks }, (_, r) => values(n, 10 * t + r));
      // A clip factor folded into the scale, as the shard does.
      applyGradients(s, p, slots, grads, 0.7 / 96, t);
    }
  } finally {
    useOptimizerKernel(true);
  }
  return [p, ...slots].map((a) => Array.from(a));
}

void test('the wasm kernels equal the JS loops bit for bit (SGD, momentum, Nesterov, Adam, weight decay, clip scale; 1-4 ranks)', () => {
  for (const config of CONFIGS)
    for (const n of LENGTHS)
      for (const ranks of [1, 2, 3, 4]) {
        const js = run(config, n, ranks, false, false);
        // Arena arrays (a shard's) and plain arrays (the reference loop's: copied in and out for 1-2
        // ranks; three or more ranks on plain arrays keep the JS block loops).
        for (const inArena of [true, false]) {
          const wasm = run(config, n, ranks, true, inArena);
          // deepEqual on numbers is Object.is: -0 and +0 and every bit of the float32 count.
          assert.deepStrictEqual(
            wasm,
            js,
            `${JSON.stringify(config)} n=${n} ranks=${ranks} arena=${inArena}`,
          );
        }
      }
});

void test('arena arrays are updated in place, the same by the kernel and the JS loops', () => {
  const js = run({ type: 'adam', learningRate: 0.001 }, 5000, 3, false, true);
  const wasm = run({ type: 'adam', learningRate: 0.001 }, 5000, 3, true, true);
  assert.deepStrictEqual(wasm, js);
  assert.notDeepStrictEqual(js[0], Array.from(values(5000, 1)), 'the parameters changed');
});

void test('an arena refuses allocations beyond its size and jobs beyond a wasm32 memory', () => {
  const arena = OptimizerArena.create(10, 2, 4);
  assert.ok(arena);
  const a = arena.alloc(5);
  assert.equal(a.length, 5);
  assert.equal(a.byteOffset % 16, 0);
  assert.equal(OptimizerArena.of(a), arena);
  assert.equal(OptimizerArena.of(new Float32Array(5)), undefined);
  arena.alloc(5);
  assert.throws(() => arena.alloc(100_000), /optimizer arena full/);
  assert.equal(OptimizerArena.create(2 ** 31, 3, 1), undefined);
});

void test('hasNonFinite finds NaN and infinities at any position, and nothing in finite arrays', () => {
  const arena = OptimizerArena.create(3 * 1030, 3, 4);
  assert.ok(arena);
  for (const n of [1, 3, 4, 1027]) {
    const a = arena.alloc(n);
    a.set(values(n, 3));
    a[0] = 3.4e38; // the largest float32s and subnormals are finite
    if (n > 1) a[n - 1] = 1e-45;
    assert.equal(arena.hasNonFinite(a), false, `n=${n}`);
    for (const bad of [Number.NaN, Infinity, -Infinity])
      for (const at of [0, n - 1, n >> 1]) {
        const keep = a[at] as number;
        a[at] = bad;
        assert.equal(arena.hasNonFinite(a), true, `n=${n} ${bad} at ${at}`);
        a[at] = keep;
      }
  }
  assert.throws(() => arena.hasNonFinite(new Float32Array(4)), /not an array of this arena/);
});

void test('a staged gradient shorter than an earlier one leaves the padding of arena arrays zero', () => {
  // Gradients from outside the arena are staged; the kernels read whole groups of 4, so a 10-element
  // gradient staged after a 1000-element one must not bring the larger one's values into elements
  // 10 and 11 (the padding of a 10-element parameter array would then change: its checksum, or a
  // NaN there would read as divergence).
  const s = compileOptimizer({ type: 'adam', learningRate: 0.01 });
  const arena = OptimizerArena.create(3 * 1010, 6, 1000) as OptimizerArena;
  const big = [arena.alloc(1000), arena.alloc(1000), arena.alloc(1000)];
  const small = [arena.alloc(10), arena.alloc(10), arena.alloc(10)];
  const tail = (a: Float32Array): number[] => [...new Float32Array(a.buffer, a.byteOffset + 40, 2)];
  for (let t = 1; t <= 3; t++) {
    applyGradients(s, big[0] as Float32Array, big.slice(1), [values(1000, t).map((x) => x * 1e6)], 1, t);
    applyGradients(s, small[0] as Float32Array, small.slice(1), [values(10, t)], 1, t);
  }
  for (const a of small) assert.deepEqual(tail(a), [0, 0]);
  assert.equal(arena.checksum(small[0] as Float32Array) >>> 0, sumBits(small[0] as Float32Array));
  assert.equal(arena.hasNonFinite(small[0] as Float32Array), false);
});

/** The plain sum modulo 2^32 of `a`'s bit patterns. */
function sumBits(a: Float32Array): number {
  let s = 0;
  for (const u of new Uint32Array(Float32Array.from(a).buffer)) s = (s + u) >>> 0;
  return s;
}
