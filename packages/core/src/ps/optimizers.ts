// Over 400 lines: the three fused optimizers and their slot/decay/schedule compilation share one hot loop design; split, they would repeat it.
import { ValidationError } from '../errors.ts';
import type { OptimizerConfig, OptimizerName, WeightDecayScope } from '../job-spec.ts';
import { OPTIMIZERS, WEIGHT_DECAY_SCOPES } from '../job-spec.ts';
import { OptimizerArena, SUM_BLOCK, scratchArena } from './optimizer-kernel.ts';
import type { KernelConstants, KernelName } from './optimizer-kernel.ts';
import { compileSchedule } from './schedule.ts';
import type { ScheduleContext, ScheduleSettings } from './schedule.ts';

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
  /** Variables weight decay applies to. @default 'kernels' */
  readonly weightDecayScope: WeightDecayScope;
  /** Learning-rate schedule (learningRate is its base rate). @default constant */
  readonly schedule: ScheduleSettings;
  /** Global-norm clipping of the mean gradient; 0: off. @default 0 */
  readonly clipNorm: number;
}

/**
 * Validates an optimizer config at the boundary and returns complete frozen settings. Throws a
 * ValidationError naming `${field}.<name>`.
 */
export function compileOptimizer(
  config: OptimizerConfig,
  field = 'optimizer',
  context: ScheduleContext = { stepsPerEpoch: 1, totalSteps: 1 },
): OptimizerSettings {
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
    weightDecayScope: config.weightDecayScope ?? 'kernels',
    schedule: compileSchedule(config.schedule, config.learningRate, context, `${field}.schedule`),
    clipNorm: config.clipNorm ?? 0,
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
  check(
    'weightDecayScope',
    (WEIGHT_DECAY_SCOPES as readonly string[]).includes(s.weightDecayScope),
    `must be one of ${WEIGHT_DECAY_SCOPES.join(', ')}`,
  );
  check(
    'clipNorm',
    Number.isFinite(s.clipNorm) && s.clipNorm >= 0,
    'must be a finite number > 0 (or absent)',
  );
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

// The fused step is one pass over memory per update: the rank-ordered gradient sum (in double
// precision), the scale by 1 / samples and the optimizer update happen in the same loop. One and two
// ranks (the common cases) read the gradients directly; more ranks are first summed, block by block,
// into a small float64 scratch that stays in L1 cache. Every loop is monomorphic (one element type per
// array), constants are hoisted out of it (Adam's bias correction is two per-step scalars), and it
// calls nothing but Math.sqrt: V8 compiles each to a tight loop (see bench numbers in the report).
const BLOCK = 2048;
let useKernel = true;

/**
 * Whether {@link applyGradients} uses the WebAssembly SIMD kernels (optimizer-kernel.ts; default) or
 * the plain JS loops below (the benchmark's and the tests' reference). Results are bit-for-bit equal.
 */
export function useOptimizerKernel(on: boolean): void {
  useKernel = on;
}
const scratch = new Float64Array(BLOCK);

/**
 * Hoisted per-step constants of one update (decay = 1 - lr * weightDecay; o1, o2 = 1 - beta1, 1 - beta2;
 * c1, c2 = lr / (1 - beta1^t), 1 / (1 - beta2^t): Adam's bias correction folded into scalars), the
 * kernels' parameter order.
 */
type StepConstants = KernelConstants;

function stepConstants(s: OptimizerSettings, scale: number, t: number): StepConstants {
  const lr = s.learningRate;
  return {
    decay: 1 - lr * s.weightDecay,
    scale,
    lr,
    mu: s.momentum,
    b1: s.beta1,
    b2: s.beta2,
    o1: 1 - s.beta1,
    o2: 1 - s.beta2,
    c1: lr / (1 - s.beta1 ** t),
    c2: 1 / (1 - s.beta2 ** t),
    eps: s.epsilon,
  };
}

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
  const k = stepConstants(settings, scale, t);
  const m = slots[0] as Float32Array;
  const v = slots[1] as Float32Array;
  const a = grads[0] as Float32Array;
  const kind: KernelName =
    settings.type === 'momentum' ? (settings.nesterov ? 'nesterov' : 'momentum') : settings.type;
  const arena = useKernel ? OptimizerArena.of(params) : undefined;
  const inArena = arena !== undefined && slots.every((s) => s.buffer === params.buffer);
  if (grads.length > 2 && inArena) {
    // Rank-ordered float64 sums block by block (as below), the update in the kernel.
    for (let start = 0; start < n; start += SUM_BLOCK) {
      const len = Math.min(SUM_BLOCK, n - start);
      sumBlock(grads, start, len, arena.sums);
      arena.runSums(kind, params, m ?? params, v ?? params, start, len, k);
    }
    return;
  }
  if (grads.length <= 2 && useKernel) {
    const b = grads[1];
    if (inArena) {
      arena.run(kind, params, m ?? params, v ?? params, a, b, k);
      return;
    }
    // Arrays from elsewhere (the in-process reference loop): copied in and out, still faster.
    const sc = scratchArena(n, 1 + slots.length);
    if (sc !== undefined) {
      const p2 = sc.alloc(n);
      p2.set(params);
      const m2 = m ? sc.alloc(n) : p2;
      if (m) m2.set(m);
      const v2 = v ? sc.alloc(n) : p2;
      if (v) v2.set(v);
      sc.run(kind, p2, m2, v2, a, b, k);
      params.set(p2);
      if (m) m.set(m2);
      if (v) v.set(v2);
      return;
    }
  }
  if (grads.length <= 2) {
    const b = grads.length === 2 ? (grads[1] as Float32Array) : undefined;
    switch (settings.type) {
      case 'sgd':
        if (b) sgd2(params, a, b, k);
        else sgd1(params, a, k);
        return;
      case 'momentum':
        if (b) momentum2(params, m, a, b, k, settings.nesterov);
        else momentum1(params, m, a, k, settings.nesterov);
        return;
      case 'adam':
        if (b) adam2(params, m, v, a, b, k);
        else adam1(params, m, v, a, k);
        return;
    }
  }
  for (let start = 0; start < n; start += BLOCK) {
    const len = Math.min(BLOCK, n - start);
    sumBlock(grads, start, len);
    switch (settings.type) {
      case 'sgd':
        sgdBlock(params, start, len, k);
        break;
      case 'momentum':
        momentumBlock(params, m, start, len, k, settings.nesterov);
        break;
      case 'adam':
        adamBlock(params, m, v, start, len, k);
        break;
    }
  }
}

// ---- one rank: g = a[i]

function sgd1(p: Float32Array, a: Float32Array, k: StepConstants): void {
  const n = p.length;
  const decay = k.decay;
  const step = k.lr * k.scale;
  for (let i = 0; i < n; i++) p[i] = (p[i] as number) * decay - step * (a[i] as number);
}

function momentum1(
  p: Float32Array,
  m: Float32Array,
  a: Float32Array,
  k: StepConstants,
  nesterov: boolean,
): void {
  const n = p.length;
  const { decay, scale, lr, mu } = k;
  if (nesterov) {
    for (let i = 0; i < n; i++) {
      const gi = (a[i] as number) * scale;
      const mm = mu * (m[i] as number) + gi;
      m[i] = mm;
      p[i] = (p[i] as number) * decay - lr * (gi + mu * mm);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const mm = mu * (m[i] as number) + (a[i] as number) * scale;
      m[i] = mm;
      p[i] = (p[i] as number) * decay - lr * mm;
    }
  }
}

function adam1(p: Float32Array, m: Float32Array, v: Float32Array, a: Float32Array, k: StepConstants): void {
  const n = p.length;
  const { decay, scale, b1, b2, o1, o2, c1, c2, eps } = k;
  for (let i = 0; i < n; i++) {
    const gi = (a[i] as number) * scale;
    const mm = b1 * (m[i] as number) + o1 * gi;
    const vv = b2 * (v[i] as number) + o2 * gi * gi;
    m[i] = mm;
    v[i] = vv;
    p[i] = (p[i] as number) * decay - (c1 * mm) / (Math.sqrt(vv * c2) + eps);
  }
}

// ---- two ranks: g = a[i] + b[i] (double, rank order)

function sgd2(p: Float32Array, a: Float32Array, b: Float32Array, k: StepConstants): void {
  const n = p.length;
  const decay = k.decay;
  const step = k.lr * k.scale;
  for (let i = 0; i < n; i++) p[i] = (p[i] as number) * decay - step * ((a[i] as number) + (b[i] as number));
}

function momentum2(
  p: Float32Array,
  m: Float32Array,
  a: Float32Array,
  b: Float32Array,
  k: StepConstants,
  nesterov: boolean,
): void {
  const n = p.length;
  const { decay, scale, lr, mu } = k;
  if (nesterov) {
    for (let i = 0; i < n; i++) {
      const gi = ((a[i] as number) + (b[i] as number)) * scale;
      const mm = mu * (m[i] as number) + gi;
      m[i] = mm;
      p[i] = (p[i] as number) * decay - lr * (gi + mu * mm);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const mm = mu * (m[i] as number) + ((a[i] as number) + (b[i] as number)) * scale;
      m[i] = mm;
      p[i] = (p[i] as number) * decay - lr * mm;
    }
  }
}

function adam2(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: Float32Array,
  b: Float32Array,
  k: StepConstants,
): void {
  const n = p.length;
  const { decay, scale, b1, b2, o1, o2, c1, c2, eps } = k;
  for (let i = 0; i < n; i++) {
    const gi = ((a[i] as number) + (b[i] as number)) * scale;
    const mm = b1 * (m[i] as number) + o1 * gi;
    const vv = b2 * (v[i] as number) + o2 * gi * gi;
    m[i] = mm;
    v[i] = vv;
    p[i] = (p[i] as number) * decay - (c1 * mm) / (Math.sqrt(vv * c2) + eps);
  }
}

// ---- three or more ranks: g = scratch[i - start], summed by sumBlock

/** s[0..len) = sum over ranks (in order, left to right) of grads[r][start..start+len). */
function sumBlock(
  grads: readonly Float32Array[],
  start: number,
  len: number,
  s: Float64Array<ArrayBufferLike> = scratch,
): void {
  const a = grads[0] as Float32Array;
  const b = grads[1] as Float32Array;
  const c = grads[2] as Float32Array;
  for (let i = 0; i < len; i++)
    s[i] = (a[start + i] as number) + (b[start + i] as number) + (c[start + i] as number);
  for (let j = 3; j < grads.length; j++) {
    const g = grads[j] as Float32Array;
    for (let i = 0; i < len; i++) s[i] = (s[i] as number) + (g[start + i] as number);
  }
}

function sgdBlock(p: Float32Array, start: number, len: number, k: StepConstants): void {
  const g = scratch;
  const decay = k.decay;
  const step = k.lr * k.scale;
  for (let i = 0; i < len; i++) p[start + i] = (p[start + i] as number) * decay - step * (g[i] as number);
}

function momentumBlock(
  p: Float32Array,
  m: Float32Array,
  start: number,
  len: number,
  k: StepConstants,
  nesterov: boolean,
): void {
  const g = scratch;
  const { decay, scale, lr, mu } = k;
  for (let i = 0; i < len; i++) {
    const j = start + i;
    const gi = (g[i] as number) * scale;
    const mm = mu * (m[j] as number) + gi;
    m[j] = mm;
    p[j] = (p[j] as number) * decay - lr * (nesterov ? gi + mu * mm : mm);
  }
}

function adamBlock(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  start: number,
  len: number,
  k: StepConstants,
): void {
  const g = scratch;
  const { decay, scale, b1, b2, o1, o2, c1, c2, eps } = k;
  for (let i = 0; i < len; i++) {
    const j = start + i;
    const gi = (g[i] as number) * scale;
    const mm = b1 * (m[j] as number) + o1 * gi;
    const vv = b2 * (v[j] as number) + o2 * gi * gi;
    m[j] = mm;
    v[j] = vv;
    p[j] = (p[j] as number) * decay - (c1 * mm) / (Math.sqrt(vv * c2) + eps);
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
