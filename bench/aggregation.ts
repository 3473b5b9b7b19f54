/**
 * Aggregation benchmark: the parameter server's fused step (sum of 4 workers' gradient sums of 10M
 * floats in rank order, scale, optimizer update) in GB/s of gradient read, against a plain fused
 * Float32Array loop doing the same arithmetic and a memory copy of the same bytes, in the same run.
 *
 *   node --import tsx bench/aggregation.ts [--json] [--quick]
 */
import { pathToFileURL } from 'node:url';
import { applyGradients, compileOptimizer, createSlots } from '@distrain/core/ps';
import { benchArgs, median, printRows, rateRow } from './common.ts';
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

/** Runs the aggregation benchmark; returns its rows. */
export function runAggregation(quick: boolean): BenchRow[] {
  const n = quick ? 2_000_000 : 10_000_000;
  const rounds = quick ? 5 : 9;
  const grads = Array.from({ length: WORKERS }, (_, w) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i + w) * 1e-3),
  );
  const bytesRead = WORKERS * n * 4;
  const scale = 1 / 512;
  const rows: BenchRow[] = [];
  for (const type of ['sgd', 'adam'] as const) {
    const settings = compileOptimizer({ type, learningRate: type === 'sgd' ? 0.01 : 0.001 });
    const params = new Float32Array(n);
    const slots = createSlots(type, n);
    const plainParams = new Float32Array(n);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const copyDst = new Float32Array(n);
    const ours: number[] = [];
    const plain: number[] = [];
    const copy: number[] = [];
    let t = 0;
    // Round-robin so machine noise hits every contender alike; round 0 warms up.
    for (let r = 0; r <= rounds; r++) {
      t++;
      let s = performance.now();
      applyGradients(settings, params, slots, grads, scale, t);
      const a = performance.now() - s;
      s = performance.now();
      if (type === 'sgd') plainSgd(plainParams, grads, 0.01 * scale);
      else plainAdam(plainParams, m, v, grads, scale, t);
      const b = performance.now() - s;
      s = performance.now();
      for (const g of grads) copyDst.set(g);
      const c = performance.now() - s;
      if (r > 0) {
        ours.push(bytesRead / a / 1e6);
        plain.push(bytesRead / b / 1e6);
        copy.push(bytesRead / c / 1e6);
      }
    }
    const metric = `${type}_${WORKERS}x${n / 1e6}M_GBps`;
    rows.push(rateRow('aggregation', metric, 'GB/s', median(ours), `fused-loop-${type}`, median(plain)));
    rows.push(rateRow('aggregation', metric, 'GB/s', median(ours), 'memcpy', median(copy)));
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = benchArgs();
  printRows(runAggregation(args.quick), args.json);
}
