import * as tf from '@tensorflow/tfjs';
import type { BatchNormalizationLayerSpec, LayerSpec, LossName } from '../job-spec.ts';
import { perSampleLoss } from './losses.ts';
import { layerName } from './variables.ts';

/**
 * All-gather of small per-channel vectors among the live ranks of a step: every rank contributes one
 * vector for `(step, slot)` and receives every live rank's vector, in rank order (so a sum over the
 * result does not depend on arrival order). The trainer's implementation goes through shard 0 of the
 * parameter server (`StatExchangeClient` of `@distrain/core/ps`); tests use {@link InMemoryStatExchange}.
 */
export interface StatExchange {
  allGather(step: number, slot: number, values: Float64Array): Promise<Float64Array[]>;
}

/** Slot of batch-norm layer `k`'s forward statistics (`[rows, mean(C), M2(C)]`). */
export function forwardSlot(k: number): number {
  return 2 * k;
}

/** Slot of batch-norm layer `k`'s backward sums (`[sum dy (C), sum dy*xhat (C)]`). */
export function backwardSlot(k: number): number {
  return 2 * k + 1;
}

interface NamedVar {
  name: string;
  v: tf.Variable;
}

/** One batch-norm layer of a staged model. */
interface BnStage {
  name: string;
  momentum: number;
  epsilon: number;
  channels: number;
  gamma: NamedVar;
  beta: NamedVar;
  movingMean: tf.Variable;
  movingVariance: tf.Variable;
}

/**
 * A model cut at its batch-norm layers: segment 0, BN 0, segment 1, ..., BN k-1, segment k (the last
 * one ends in the loss). Segments are runs of ordinary layers (possibly empty).
 */
export interface StagedModel {
  segments: { layers: tf.layers.Layer[]; vars: NamedVar[] }[];
  bns: BnStage[];
}

/**
 * Cuts a model built by `buildModel` from `specs` at its batch-norm layers. `variable(name)` gives the
 * model's tfjs variable of a spec variable name (`l<i>_<type>/<weight>`); `trainable` lists the
 * trainable ones.
 */
export function stageModel(
  model: tf.LayersModel,
  specs: readonly LayerSpec[],
  variable: (name: string) => tf.Variable,
  trainable: readonly NamedVar[],
): StagedModel {
  const layers = model.layers;
  if (layers.length !== specs.length)
    throw new Error(`stageModel: ${layers.length} tfjs layers for ${specs.length} layer specs`);
  const segments: StagedModel['segments'] = [{ layers: [], vars: [] }];
  const bns: BnStage[] = [];
  specs.forEach((spec, i) => {
    const layer = layers[i] as tf.layers.Layer;
    const name = layerName(i, spec);
    if (layer.name !== name) throw new Error(`stageModel: layer ${i} is ${layer.name}, expected ${name}`);
    if (spec.type === 'batchNormalization') {
      const bn = spec as BatchNormalizationLayerSpec;
      const gamma = variable(`${name}/gamma`);
      bns.push({
        name,
        momentum: bn.momentum ?? 0.99,
        epsilon: bn.epsilon ?? 0.001,
        channels: gamma.shape[0] as number,
        gamma: { name: `${name}/gamma`, v: gamma },
        beta: { name: `${name}/beta`, v: variable(`${name}/beta`) },
        movingMean: variable(`${name}/moving_mean`),
        movingVariance: variable(`${name}/moving_variance`),
      });
      segments.push({ layers: [], vars: [] });
      return;
    }
    const seg = segments[segments.length - 1] as StagedModel['segments'][number];
    seg.layers.push(layer);
    seg.vars.push(...trainable.filter((t) => t.name.startsWith(`${name}/`)));
  });
  return { segments, bns };
}

/** Global mean and biased variance per channel from every rank's `[rows, mean(C), M2(C)]`, in rank order. */
export function combineMoments(
  parts: readonly Float64Array[],
  channels: number,
): { rows: number; mean: Float64Array; variance: Float64Array } {
  let rows = 0;
  const mean = new Float64Array(channels);
  const m2 = new Float64Array(channels);
  for (const p of parts) {
    if (p.length !== 1 + 2 * channels)
      throw new Error(`batch-norm statistics: ${p.length} values, expected ${1 + 2 * channels}`);
    const nb = p[0] as number;
    if (nb === 0) continue;
    const n = rows + nb;
    for (let c = 0; c < channels; c++) {
      // Chan et al.'s parallel update: exact in exact arithmetic, stable in floating point.
      const delta = (p[1 + c] as number) - (mean[c] as number);
      mean[c] = (mean[c] as number) + (delta * nb) / n;
      m2[c] = (m2[c] as number) + (p[1 + channels + c] as number) + (delta * delta * rows * nb) / n;
    }
    rows = n;
  }
  const variance = m2.map((v) => (rows > 0 ? v / rows : 0));
  return { rows, mean, variance };
}

/** Element-wise sum of the ranks' vectors, in rank order. */
export function sumInOrder(parts: readonly Float64Array[], length: number): Float64Array {
  const out = new Float64Array(length);
  for (const p of parts) {
    if (p.length !== length) throw new Error(`batch-norm sums: ${p.length} values, expected ${length}`);
    for (let i = 0; i < length; i++) out[i] = (out[i] as number) + (p[i] as number);
  }
  return out;
}

function applySegment(layers: readonly tf.layers.Layer[], h: tf.Tensor): tf.Tensor {
  let t = h;
  for (const l of layers) t = l.apply(t, { training: true }) as tf.Tensor;
  return t;
}

/** What {@link syncedGradients} computed; the moving-statistics updates are applied by the caller. */
export interface SyncedResult {
  /** SUM over this rank's samples, by variable name (trainable variables reached by the loss). */
  grads: Map<string, tf.Tensor>;
  lossSum: number;
  /** New moving mean and variance per batch-norm layer (identical on every rank). */
  moving: { mean: tf.Variable; variance: tf.Variable; newMean: tf.Tensor; newVariance: tf.Tensor }[];
}

/**
 * Exact synchronized batch normalization for one rank's slice of a global batch: forward segment by
 * segment, each batch-norm layer normalizing with the mean and (biased) variance of the GLOBAL batch
 * (every rank's `[rows, mean, M2]`, combined in rank order); backward segment by segment (each
 * segment's forward is recomputed under the tape with the upstream gradient as seed), the gradient
 * through the batch statistics using the global per-channel sums of `dy` and `dy * xhat`. The sum over
 * ranks of the returned gradients equals one rank's gradient of the whole batch. A rank with no
 * samples (`x` undefined) still takes part in every exchange.
 *
 * The caller owns the returned tensors (kept out of any tidy) and disposes them.
 */
export async function syncedGradients(
  staged: StagedModel,
  x: tf.Tensor | undefined,
  y: tf.Tensor | undefined,
  loss: LossName,
  step: number,
  exchange: StatExchange,
): Promise<SyncedResult> {
  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(tf.keep(t));
    return t;
  };
  const k = staged.bns.length;
  const inputs: (tf.Tensor | undefined)[] = [x];
  const xhats: (tf.Tensor | undefined)[] = [];
  const invStds: Float64Array[] = [];
  const globalRows: number[] = [];
  const moving: SyncedResult['moving'] = [];
  const grads = new Map<string, tf.Tensor>();
  let lossSum = 0;
  try {
    // Forward: segment j, then batch-norm j with the global batch's statistics.
    for (let j = 0; j < k; j++) {
      const bn = staged.bns[j] as BnStage;
      const seg = staged.segments[j] as StagedModel['segments'][number];
      const h = inputs[j];
      const C = bn.channels;
      const local = new Float64Array(1 + 2 * C);
      let z: tf.Tensor | undefined;
      if (h !== undefined) {
        z = tf.tidy(() => keep(applySegment(seg.layers, h)));
        const zz = z;
        const [mean, m2] = tf.tidy(() => {
          const z2 = tf.reshape(zz, [-1, C]);
          const m = tf.mean(z2, 0);
          return [m.dataSync(), tf.sum(tf.square(tf.sub(z2, m)), 0).dataSync()];
        });
        local[0] = z.size / C;
        local.set(mean as Float32Array, 1);
        local.set(m2 as Float32Array, 1 + C);
      }
      const stats = combineMoments(await exchange.allGather(step, forwardSlot(j), local), C);
      if (stats.rows === 0) throw new Error(`batch norm ${bn.name}: the global batch is empty`);
      const invStd = stats.variance.map((v) => 1 / Math.sqrt(v + bn.epsilon));
      invStds.push(invStd);
      globalRows.push(stats.rows);
      moving.push({
        mean: bn.movingMean,
        variance: bn.movingVariance,
        // tfjs's own update: moving - (moving - batch) * (1 - momentum), in float32.
        newMean: tf.tidy(() =>
          keep(
            tf.sub(
              bn.movingMean,
              tf.mul(tf.sub(bn.movingMean, tf.tensor1d(Float32Array.from(stats.mean))), 1 - bn.momentum),
            ),
          ),
        ),
        newVariance: tf.tidy(() =>
          keep(
            tf.sub(
              bn.movingVariance,
              tf.mul(
                tf.sub(bn.movingVariance, tf.tensor1d(Float32Array.from(stats.variance))),
                1 - bn.momentum,
              ),
            ),
          ),
        ),
      });
      if (z === undefined) {
        xhats.push(undefined);
        inputs.push(undefined);
        continue;
      }
      const zz = z;
      const xhat = tf.tidy(() =>
        keep(
          tf.mul(
            tf.sub(zz, tf.tensor1d(Float32Array.from(stats.mean))),
            tf.tensor1d(Float32Array.from(invStd)),
          ),
        ),
      );
      xhats.push(xhat);
      inputs.push(tf.tidy(() => keep(tf.add(tf.mul(xhat, bn.gamma.v), bn.beta.v))));
    }

    // Backward: the last segment from the loss, then batch-norm j and segment j for j = k-1 .. 0.
    let dy: tf.Tensor | undefined;
    const last = staged.segments[k] as StagedModel['segments'][number];
    const hk = inputs[k];
    if (hk !== undefined && y !== undefined) {
      const r = segmentGrads(last, hk, k > 0, () =>
        tf.sum(perSampleLoss(loss, applySegment(last.layers, hk), y)),
      );
      lossSum = r.value;
      dy = r.dx === undefined ? undefined : keep(r.dx);
      for (const [name, g] of r.grads) grads.set(name, keep(g));
    }
    for (let j = k - 1; j >= 0; j--) {
      const bn = staged.bns[j] as BnStage;
      const C = bn.channels;
      const xhat = xhats[j];
      const local = new Float64Array(2 * C);
      let sdy: tf.Tensor | undefined;
      let sdyx: tf.Tensor | undefined;
      if (dy !== undefined && xhat !== undefined) {
        const d = dy;
        sdy = tf.tidy(() => keep(tf.sum(tf.reshape(d, [-1, C]), 0)));
        sdyx = tf.tidy(() => keep(tf.sum(tf.reshape(tf.mul(d, xhat), [-1, C]), 0)));
        local.set(sdy.dataSync() as Float32Array, 0);
        local.set(sdyx.dataSync() as Float32Array, C);
      }
      const sums = sumInOrder(await exchange.allGather(step, backwardSlot(j), local), 2 * C);
      if (sdy === undefined || sdyx === undefined || dy === undefined || xhat === undefined) continue;
      // Local sums are this rank's share of d beta and d gamma (the parameter server adds the ranks).
      grads.set(bn.beta.name, sdy);
      grads.set(bn.gamma.name, sdyx);
      const rows = globalRows[j] as number;
      const invStd = invStds[j] as Float64Array;
      const d = dy;
      // dz = gamma / sigma * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M), sums over the global batch.
      const dz = tf.tidy(() => {
        const meanDy = tf.tensor1d(Float32Array.from(sums.subarray(0, C), (v) => v / rows));
        const meanDyX = tf.tensor1d(Float32Array.from(sums.subarray(C), (v) => v / rows));
        const coef = tf.mul(bn.gamma.v, tf.tensor1d(Float32Array.from(invStd)));
        return keep(tf.mul(tf.sub(tf.sub(d, meanDy), tf.mul(xhat, meanDyX)), coef));
      });
      const seg = staged.segments[j] as StagedModel['segments'][number];
      const h = inputs[j] as tf.Tensor;
      const r = segmentGrads(seg, h, j > 0, () => tf.sum(tf.mul(applySegment(seg.layers, h), dz)));
      dy = r.dx === undefined ? undefined : keep(r.dx);
      for (const [name, g] of r.grads) grads.set(name, keep(g));
    }
  } catch (err) {
    for (const t of owned) t.dispose();
    throw err;
  }
  // Everything but the results goes.
  const results = new Set<tf.Tensor>([
    ...grads.values(),
    ...moving.flatMap((m) => [m.newMean, m.newVariance]),
  ]);
  for (const t of owned) if (!results.has(t)) t.dispose();
  return { grads, lossSum, moving };
}

/** Gradients of `f` (a scalar recomputing the segment from `h`) w.r.t. the segment's variables and, if asked, `h`. */
function segmentGrads(
  seg: StagedModel['segments'][number],
  h: tf.Tensor,
  wantInput: boolean,
  f: () => tf.Scalar,
): { value: number; dx: tf.Tensor | undefined; grads: Map<string, tf.Tensor> } {
  const xs: tf.Tensor[] = [...(wantInput ? [h] : []), ...seg.vars.map((e) => e.v)];
  const out = new Map<string, tf.Tensor>();
  if (xs.length === 0) {
    return { value: tf.tidy(() => f().dataSync()[0] ?? Number.NaN), dx: undefined, grads: out };
  }
  let value = Number.NaN;
  let dx: tf.Tensor | undefined;
  tf.tidy(() => {
    const r = tf.engine().gradients(f, xs, undefined, true);
    value = r.value.dataSync()[0] ?? Number.NaN;
    const gs = r.grads;
    const off = wantInput ? 1 : 0;
    if (wantInput) dx = tf.keep(gs[0] ?? tf.zerosLike(h));
    seg.vars.forEach((e, i) => {
      const g = gs[i + off];
      // A variable the loss does not reach has no gradient (the caller zero-fills it).
      if (g !== undefined && g !== null) out.set(e.name, tf.keep(g));
    });
  });
  return { value, dx, grads: out };
}

/**
 * An in-process {@link StatExchange} for `n` ranks (unit tests, and one trainer with several
 * simulated ranks): resolves every rank's call for `(step, slot)` once all `n` contributed.
 */
export class InMemoryStatExchange {
  private readonly pending = new Map<string, { parts: (Float64Array | undefined)[]; done: (() => void)[] }>();

  constructor(private readonly n: number) {}

  /** The exchange as seen by `rank`. */
  forRank(rank: number): StatExchange {
    return {
      allGather: (step, slot, values) => {
        const key = `${step}/${slot}`;
        let p = this.pending.get(key);
        if (p === undefined) {
          p = { parts: new Array<Float64Array | undefined>(this.n).fill(undefined), done: [] };
          this.pending.set(key, p);
        }
        const entry = p;
        entry.parts[rank] = Float64Array.from(values);
        return new Promise<Float64Array[]>((resolve) => {
          entry.done.push(() => resolve(entry.parts as Float64Array[]));
          if (entry.parts.every((v) => v !== undefined)) {
            this.pending.delete(key);
            for (const d of entry.done) d();
          }
        });
      },
    };
  }
}
