import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyGradients,
  averageStates,
  compileOptimizer,
  createSlots,
  slotName,
  slotSuffixes,
} from './optimizers.ts';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++)
    assert.ok(
      Math.abs((a[i] as number) - (b[i] as number)) <= tol * Math.max(1, Math.abs(b[i] as number)),
      `[${i}] ${a[i]} vs ${b[i]}`,
    );
};
const f = (...x: number[]): Float32Array => Float32Array.from(x);

void test('SGD: sum in rank order, scale by 1/total, weight decay', () => {
  const s = compileOptimizer({ type: 'sgd', learningRate: 0.1 });
  const p = f(1, 2);
  applyGradients(s, p, [], [f(1, 2), f(3, 4)], 1 / 4, 1);
  close(p, [1 - 0.1 * 1, 2 - 0.1 * 1.5]);
  const wd = compileOptimizer({ type: 'sgd', learningRate: 0.1, weightDecay: 0.5 });
  const q = f(2);
  applyGradients(wd, q, [], [f(4)], 1 / 2, 1);
  close(q, [2 - 0.1 * (2 + 0.5 * 2)]);
});

void test('momentum and nesterov, two steps by hand', () => {
  const s = compileOptimizer({ type: 'momentum', learningRate: 0.1, momentum: 0.9 });
  const p = f(1);
  const slots = createSlots('momentum', 1);
  applyGradients(s, p, slots, [f(2)], 1, 1); // m = 2, p = 1 - 0.2
  applyGradients(s, p, slots, [f(2)], 1, 2); // m = 3.8, p = 0.8 - 0.38
  close(p, [0.42]);
  close(slots[0] as Float32Array, [3.8]);
  const n = compileOptimizer({ type: 'momentum', learningRate: 0.1, momentum: 0.9, nesterov: true });
  const q = f(1);
  const ns = createSlots('momentum', 1);
  applyGradients(n, q, ns, [f(2)], 1, 1); // m = 2, p -= 0.1*(2 + 0.9*2) = 0.62
  close(q, [0.62]);
});

void test('Adam: bias-corrected, three steps against a hand loop', () => {
  const s = compileOptimizer({ type: 'adam', learningRate: 0.01 });
  assert.equal(s.epsilon, 1e-7);
  const p = f(0.5, -0.25);
  const slots = createSlots('adam', 2);
  const ref = [0.5, -0.25];
  const m = [0, 0];
  const v = [0, 0];
  const gs = [
    [0.2, -1],
    [0.1, 0.5],
    [-0.3, 2],
  ];
  gs.forEach((g, k) => {
    const t = k + 1;
    // pushed as two ranks' sums with 4 samples in total: mean = (a + b) / 4
    applyGradients(
      s,
      p,
      slots,
      [f((g[0] as number) * 1, (g[1] as number) * 3), f((g[0] as number) * 3, (g[1] as number) * 1)],
      1 / 4,
      t,
    );
    for (let i = 0; i < 2; i++) {
      const gi = g[i] as number;
      m[i] = 0.9 * (m[i] as number) + 0.1 * gi;
      v[i] = 0.999 * (v[i] as number) + 0.001 * gi * gi;
      const mh = (m[i] as number) / (1 - 0.9 ** t);
      const vh = (v[i] as number) / (1 - 0.999 ** t);
      ref[i] = (ref[i] as number) - (0.01 * mh) / (Math.sqrt(vh) + 1e-7);
    }
  });
  close(p, ref, 1e-6);
  // First Adam step moves each weight by about lr.
  assert.deepEqual(slotSuffixes('adam'), ['m', 'v']);
  assert.equal(slotName('d/kernel#0', 'm'), 'd/kernel#0/m');
});

void test('4 ranks (blocks of 2048, ragged tail) equal one pre-summed gradient', () => {
  const n = 5000;
  const grads = Array.from({ length: 4 }, (_, r) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * (r + 1)) * 1e-3),
  );
  for (const type of ['sgd', 'momentum', 'adam'] as const) {
    const s = compileOptimizer({ type, learningRate: 0.05 });
    const p = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
    const slots = createSlots(type, n);
    applyGradients(s, p, slots, grads, 1 / 10, 1);
    // Reference: same update with the pre-summed gradient (double precision) as one rank.
    const sum = new Float64Array(n);
    for (const g of grads) for (let i = 0; i < n; i++) sum[i] = (sum[i] as number) + (g[i] as number);
    const q = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
    const qs = createSlots(type, n);
    applyGradients(s, q, qs, [Float32Array.from(sum)], 1 / 10, 1);
    close(p, Array.from(q), 1e-6);
  }
});

void test('BN states: weighted by sample count, zero-sample ranks ignored', () => {
  const out = f(9, 9);
  averageStates(out, [f(1, 2), f(3, 4), f(100, 100)], [1, 3, 0]);
  close(out, [(1 + 9) / 4, (2 + 12) / 4]);
  const untouched = f(5);
  averageStates(untouched, [f(1)], [0]);
  close(untouched, [5]);
});

void test('invalid configs and sizes are ValidationErrors naming the field', () => {
  assert.throws(() => compileOptimizer({ type: 'sgd', learningRate: 0 }), /optimizer\.learningRate/);
  assert.throws(() => compileOptimizer({ type: 'adam', learningRate: 1, beta2: 1 }), /optimizer\.beta2/);
  assert.throws(() => compileOptimizer({ type: 'nope' as 'sgd', learningRate: 1 }), /optimizer\.type/);
  assert.throws(
    () => applyGradients(compileOptimizer({ type: 'sgd', learningRate: 1 }), f(1, 2), [], [f(1)], 1, 1),
    { name: 'ValidationError' },
  );
});
