import { ValidationError } from '../errors.ts';
import type { OptimizerConfig, OptimizerName } from '../job-spec.ts';
import { OPTIMIZERS } from '../job-spec.ts';

/** A validated optimizer configuration with every default filled in (frozen). */
export interface OptimizerSettings {
  readonly type: OptimizerName;
  readonly learningRate: number;
  /** @default 0.9 */
  readonly momentum: number;
  /** @default false */
  readonly nesterov: boolean;
  /** @default 0.9 */
  readonly beta1: number;
  /** @default 0.999 */
  readonly beta2: number;
  /** @default 1e-7 */
  readonly epsilon: number;
  /** Decoupled weight decay (AdamW style: `p -= lr * wd * p`). @default 0 */
  readonly weightDecay: number;
}

/**
 * Validates an optimizer config at the boundary and returns complete frozen settings. Throws a
 * ValidationError naming `${field}.<name>`.
 */
export function compileOptimizer(config: OptimizerConfig, field = 'optimizer'): OptimizerSettings {
  if (!(OPTIMIZERS as readonly string[]).includes(config.type)) {
    throw new ValidationError(
      `${field}.type`,
      `must be one of ${OPTIMIZERS.join(', ')}, got "${String(config.type)}"`,
    );
  }
  const s: OptimizerSettings = {
    type: config.type,
    learningRate: config.learningRate,
    momentum: config.momentum ?? 0.9,
    nesterov: config.nesterov ?? false,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    epsilon: config.epsilon ?? 1e-7,
    weightDecay: config.weightDecay ?? 0,
  };
  const check = (name: keyof OptimizerSettings, ok: boolean, rule: string): void => {
    if (!ok) throw new ValidationError(`${field}.${name}`, `${rule}, got ${String(s[name])}`);
  };
  check('learningRate', Number.isFinite(s.learningRate) && s.learningRate > 0, 'must be a finite number > 0');
  check('momentum', s.momentum >= 0 && s.momentum < 1, 'must be in [0, 1)');
  check('beta1', s.beta1 >= 0 && s.beta1 < 1, 'must be in [0, 1)');
  check('beta2', s.beta2 >= 0 && s.beta2 < 1, 'must be in [0, 1)');
  check('epsilon', Number.isFinite(s.epsilon) && s.epsilon > 0, 'must be a finite number > 0');
  check('weightDecay', Number.isFinite(s.weightDecay) && s.weightDecay >= 0, 'must be a finite number >= 0');
  return Object.freeze(s);
}

/**
 * Slot suffixes of an optimizer, in their fixed order (checkpoints depend on it): a part `k` has slots
 * `${k}/m` (momentum, Adam first moment) and `${k}/v` (Adam second moment).
 */
export function slotSuffixes(type: OptimizerName): readonly string[] {
  switch (type) {
    case 'sgd':
      return [];
    case 'momentum':
      return ['m'];
    case 'adam':
      return ['m', 'v'];
  }
}

/** Name of a slot of a variable or part: `<key>/<suffix>`. */
export function slotName(key: string, suffix: string): string {
  return `${key}/${suffix}`;
}

/** Fresh (zero) slots for `length` elements, in {@link slotSuffixes} order. */
export function createSlots(type: OptimizerName, length: number): Float32Array[] {
  return slotSuffixes(type).map(() => new Float32Array(length));
}

// The fused step runs block by block: the rank-ordered sum of one block of every gradient goes into a
// small float64 scratch that stays in L1 cache, then the optimizer updates that block of params and
// slots. Main memory is touched once per element of every input, the sum keeps double precision, and
// both loops are monomorphic (specialized sums for 1-4 ranks), which keeps V8 close to a hand-fused loop.
const BLOCK = 2048;
const scratch = new Float64Array(BLOCK);

/**
 * Applies one optimizer update to `params` in place, fused: sums the rank-ordered gradient sums
 * `grads` (each as long as `params`), scales by `scale` (1 / total samples), and updates params and
 * slots in one pass over memory. `t` is the 1-based update count (Adam bias correction).
 * An empty `grads` leaves everything unchanged.
 */
export function applyGradients(
  settings: OptimizerSettings,
  params: Float32Array,
  slots: readonly Float32Array[],
  grads: readonly Float32Array[],
  scale: number,
  t: number,
): void {
  const n = params.length;
  for (let j = 0; j < grads.length; j++) {
    if ((grads[j] as Float32Array).length !== n) {
      throw new ValidationError(
        `grads[${j}]`,
        `has ${(grads[j] as Float32Array).length} elements, params have ${n}`,
      );
    }
  }
  const expectSlots = slotSuffixes(settings.type).length;
  if (slots.length !== expectSlots)
    throw new ValidationError('slots', `${settings.type} needs ${expectSlots} slots, got ${slots.length}`);
  for (const s of slots)
    if (s.length !== n) throw new ValidationError('slots', `slot has ${s.length} elements, params have ${n}`);
  if (grads.length === 0) return;
  for (let start = 0; start < n; start += BLOCK) {
    const len = Math.min(BLOCK, n - start);
    sumBlock(grads, start, len);
    updateBlock(settings, params, slots, start, len, scale, t);
  }
}

/** scratch[0..len) = sum over ranks (in order, left to right) of grads[r][start..start+len). */
function sumBlock(grads: readonly Float32Array[], start: number, len: number): void {
  const s = scratch;
  const a = grads[0] as Float32Array;
  switch (grads.length) {
    case 1:
      for (let i = 0; i < len; i++) s[i] = a[start + i] as number;
      return;
    case 2: {
      const b = grads[1] as Float32Array;
      for (let i = 0; i < len; i++) s[i] = (a[start + i] as number) + (b[start + i] as number);
      return;
    }
    case 3: {
      const b = grads[1] as Float32Array;
      const c = grads[2] as Float32Array;
      for (let i = 0; i < len; i++)
        s[i] = (a[start + i] as number) + (b[start + i] as number) + (c[start + i] as number);
      return;
    }
    case 4: {
      const b = grads[1] as Float32Array;
      const c = grads[2] as Float32Array;
      const d = grads[3] as Float32Array;
      for (let i = 0; i < len; i++) {
        s[i] =
          (a[start + i] as number) +
          (b[start + i] as number) +
          (c[start + i] as number) +
          (d[start + i] as number);
      }
      return;
    }
    default: {
      for (let i = 0; i < len; i++) s[i] = a[start + i] as number;
      for (let j = 1; j < grads.length; j++) {
        const g = grads[j] as Float32Array;
        for (let i = 0; i < len; i++) s[i] = (s[i] as number) + (g[start + i] as number);
      }
    }
  }
}

/** Optimizer update of params[start..start+len) from the summed gradient block in `scratch`. */
function updateBlock(
  s: OptimizerSettings,
  p: Float32Array,
  slots: readonly Float32Array[],
  start: number,
  len: number,
  scale: number,
  t: number,
): void {
  const g = scratch;
  const lr = s.learningRate;
  const decay = 1 - lr * s.weightDecay;
  switch (s.type) {
    case 'sgd': {
      const a = lr * scale;
      for (let i = 0; i < len; i++) p[start + i] = (p[start + i] as number) * decay - a * (g[i] as number);
      return;
    }
    case 'momentum': {
      const m = slots[0] as Float32Array;
      const mu = s.momentum;
      if (s.nesterov) {
        for (let i = 0; i < len; i++) {
          const j = start + i;
          const gi = (g[i] as number) * scale;
          const mm = mu * (m[j] as number) + gi;
          m[j] = mm;
          p[j] = (p[j] as number) * decay - lr * (gi + mu * mm);
        }
      } else {
        for (let i = 0; i < len; i++) {
          const j = start + i;
          const mm = mu * (m[j] as number) + (g[i] as number) * scale;
          m[j] = mm;
          p[j] = (p[j] as number) * decay - lr * mm;
        }
      }
      return;
    }
    case 'adam': {
      const m = slots[0] as Float32Array;
      const v = slots[1] as Float32Array;
      const { beta1: b1, beta2: b2, epsilon: eps } = s;
      // Bias correction folded into constants: lr * m_hat / (sqrt(v_hat) + eps) as in tfjs/Keras.
      const c1 = lr / (1 - b1 ** t);
      const c2 = 1 / (1 - b2 ** t);
      const o1 = 1 - b1;
      const o2 = 1 - b2;
      for (let i = 0; i < len; i++) {
        const j = start + i;
        const gi = (g[i] as number) * scale;
        const mm = b1 * (m[j] as number) + o1 * gi;
        const vv = b2 * (v[j] as number) + o2 * gi * gi;
        m[j] = mm;
        v[j] = vv;
        p[j] = (p[j] as number) * decay - (c1 * mm) / (Math.sqrt(vv * c2) + eps);
      }
      return;
    }
  }
}

/**
 * Weighted mean of non-trainable state (batch-norm moving statistics) into `out`, in place:
 * `out = sum_r w_r * states_r / sum_r w_r` over the given rank-ordered states and weights (sample
 * counts). Entries with weight 0 are skipped; when every weight is 0, `out` is left unchanged.
 */
export function averageStates(
  out: Float32Array,
  states: readonly Float32Array[],
  weights: readonly number[],
): void {
  let total = 0;
  for (const w of weights) total += w;
  if (!(total > 0)) return;
  const n = out.length;
  let first = true;
  for (let j = 0; j < states.length; j++) {
    const w = (weights[j] as number) / total;
    if (!(w > 0)) continue;
    const x = states[j] as Float32Array;
    if (x.length !== n) throw new ValidationError(`states[${j}]`, `has ${x.length} elements, expected ${n}`);
    if (first) for (let i = 0; i < n; i++) out[i] = w * (x[i] as number);
    else for (let i = 0; i < n; i++) out[i] = (out[i] as number) + w * (x[i] as number);
    first = false;
  }
}
