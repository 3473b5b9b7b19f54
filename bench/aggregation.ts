/**
 * Aggregation benchmark: the parameter server's fused step (sum of 1, 2 or 4 workers' gradient sums
 * of 10M floats in rank order, scale, optimizer update) in GB/s of gradient read, against the same
 * step on the plain JS loops, a plain fused Float32Array loop doing the same arithmetic and a memory
 * copy of the same bytes, in the same run.
 *
 *   node --import tsx bench/aggregation.ts [--json] [--quick]
 */
import { pathToFileURL } from 'node:url';
import {
  OptimizerArena,
  applyGradients,
  compileOptimizer,
  createSlots,
  useOptimizerKernel,
} from '@distrain/core/ps';
import { benchArgs, median, printRows, rateRow, withServiceMallocSettings } from './common.ts';
import type { BenchRow } from './common.ts';

const WORKERS = 4;

/** The plain loop a user would write for SGD: one pass, sum and update fused. */
function plainSgd(p: Float32Array, g: Float32Array[], lrScale: number): void {
  const [g0, g1, g2, g3] = g as [Float32Array, Float32Array, Float32Array, Float32Array];
  for (let i = 0; i < p.length; i++)
    p[i] =
      (p[i] as number) -
      lrScale * ((g0[i] as number) + (g1[i] as number) + (g2[i] as number) + (g3[i] as number));
}

/** The plain fused loop for Adam (bias correction folded into the step size). */
function plainAdam(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array[],
  scale: number,
  t: number,
): void {
  const [g0, g1, g2, g3] = g as [Float32Array, Float32Array, Float32Array, Float32Array];
  const b1 = 0.9;
  const b2 = 0.999;
  const lr = (0.001 * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
  for (let i = 0; i < p.length; i++) {
    const grad = ((g0[i] as number) + (g1[i] as number) + (g2[i] as number) + (g3[i] as number)) * scale;
    const mi = b1 * (m[i] as number) + (1 - b1) * grad;
    const vi = b2 * (v[i] as number) + (1 - b2) * grad * grad;
    m[i] = mi;
    v[i] = vi;
    p[i] = (p[i] as number) - (lr * mi) / (Math.sqrt(vi) + 1e-7);
  }
}

/** Sets `arrays` to `n`-element arrays in a fresh optimizer arena (as a shard holds them). */
function arenaArrays(n: number, count: number): Float32Array[] {
  const arena = OptimizerArena.create(n * count, count, n);
  if (!arena) throw new Error(`no arena for ${n} elements`);
  return Array.from({ length: count }, () => arena.alloc(n));
}

/**
 * Runs the aggregation benchmark; returns its rows. For 1, 2 and 4 workers and SGD and Adam:
 * `applyGradients` as a shard runs it (parameters and slots in the kernel's arena: the wasm SIMD
 * kernel for up to 2 workers), against the same call on the plain JS loops (`useOptimizerKernel(false)`),
 * the plain fused loop a user would write (4 workers) and a memory copy of the gradient bytes.
 */
export function runAggregation(quick: boolean): BenchRow[] {
  const n = quick ? 2_000_000 : 10_000_000;
  const rounds = quick ? 5 : 9;
  const allGrads = Array.from({ length: WORKERS }, (_, w) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i + w) * 1e-3),
  );
  const scale = 1 / 512;
  const rows: BenchRow[] = [];
  for (const workers of [1, 2, WORKERS]) {
    const grads = allGrads.slice(0, workers);
    const bytesRead = workers * n * 4;
    for (const type of ['sgd', 'adam'] as const) {
      const settings = compileOptimizer({ type, learningRate: type === 'sgd' ? 0.01 : 0.001 });
      const slotCount = createSlots(type, 0).length;
      const [params, ...slots] = arenaArrays(n, 1 + slotCount) as [Float32Array, ...Float32Array[]];
      const jsParams = new Float32Array(n);
      const jsSlots = createSlots(type, n);
      const plainParams = new Float32Array(n);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const copyDst = new Float32Array(n);
      const ours: number[] = [];
      const js: number[] = [];
      const plain: number[] = [];
      const copy: number[] = [];
      let t = 0;
      // Round-robin so machine noise hits every contender alike; round 0 warms up.
      for (let r = 0; r <= rounds; r++) {
        t++;
        let s = performance.now();
        applyGradients(settings, params, slots, grads, scale, t);
        const a = performance.now() - s;
        useOptimizerKernel(false);
        s = performance.now();
        applyGradients(settings, jsParams, jsSlots, grads, scale, t);
        const b = performance.now() - s;
        useOptimizerKernel(true);
        let c = Number.NaN;
        if (workers === WORKERS) {
          s = performance.now();
          if (type === 'sgd') plainSgd(plainParams, grads, 0.01 * scale);
          else plainAdam(plainParams, m, v, grads, scale, t);
          c = performance.now() - s;
        }
        s = performance.now();
        for (const g of grads) copyDst.set(g);
        const d = performance.now() - s;
        if (r > 0) {
          ours.push(bytesRead / a / 1e6);
          js.push(bytesRead / b / 1e6);
          plain.push(bytesRead / c / 1e6);
          copy.push(bytesRead / d / 1e6);
        }
      }
      const metric = `${type}_${workers}x${n / 1e6}M_GBps`;
      const value = median(ours);
      rows.push(rateRow('aggregation', metric, 'GB/s', value, `js-loop-${type}`, median(js)));
      if (workers === WORKERS)
        rows.push(rateRow('aggregation', metric, 'GB/s', value, `fused-loop-${type}`, median(plain)));
      rows.push(rateRow('aggregation', metric, 'GB/s', value, 'memcpy', median(copy)));
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  withServiceMallocSettings();
  const args = benchArgs();
  printRows(runAggregation(args.quick), args.json);
}
