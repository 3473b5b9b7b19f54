import { ValidationError } from '../errors.ts';
import type { LearningRateSchedule, LrScheduleName, OptimizerConfig } from '../job-spec.ts';
import { LR_SCHEDULES } from '../job-spec.ts';

/** A learning-rate schedule with every field resolved (frozen). Steps are optimizer updates. */
export interface ScheduleSettings {
  readonly type: LrScheduleName;
  /** Linear warmup: update t < warmupSteps uses lr * (t + 1) / warmupSteps. */
  readonly warmupSteps: number;
  /** step: the rate is multiplied by gamma every stepSize updates after warmup. */
  readonly stepSize: number;
  /** step: factor per stepSize; exponential: factor per decaySteps. */
  readonly gamma: number;
  /** exponential: updates per gamma; cosine: updates from the end of warmup to minLearningRate. */
  readonly decaySteps: number;
  /** cosine: the floor the rate decays to. */
  readonly minLearningRate: number;
}

/** What the coordinator knows about the job when it fills schedule defaults. */
export interface ScheduleContext {
  stepsPerEpoch: number;
  totalSteps: number;
}

/**
 * Validates a schedule and fills its defaults: warmupSteps 0; step: stepSize = one epoch, gamma 0.1;
 * exponential: decaySteps = one epoch, gamma 0.96; cosine: decaySteps = the rest of the job after
 * warmup, minLearningRate 0. Throws a ValidationError naming `${field}.<name>`.
 */
export function compileSchedule(
  schedule: LearningRateSchedule | undefined,
  learningRate: number,
  context: ScheduleContext,
  field = 'optimizer.schedule',
): ScheduleSettings {
  const s = schedule ?? { type: 'constant' };
  if (!(LR_SCHEDULES as readonly string[]).includes(s.type)) {
    throw new ValidationError(
      `${field}.type`,
      `must be one of ${LR_SCHEDULES.join(', ')}, got "${String(s.type)}"`,
    );
  }
  const warmupSteps = s.warmupSteps ?? 0;
  const epoch = Math.max(1, context.stepsPerEpoch);
  const out: ScheduleSettings = {
    type: s.type,
    warmupSteps,
    stepSize: s.stepSize ?? epoch,
    gamma: s.gamma ?? (s.type === 'exponential' ? 0.96 : 0.1),
    decaySteps: s.decaySteps ?? (s.type === 'cosine' ? Math.max(1, context.totalSteps - warmupSteps) : epoch),
    minLearningRate: s.minLearningRate ?? 0,
  };
  const check = (name: keyof ScheduleSettings, ok: boolean, rule: string): void => {
    if (!ok) throw new ValidationError(`${field}.${name}`, `${rule}, got ${String(out[name])}`);
  };
  check('warmupSteps', Number.isInteger(warmupSteps) && warmupSteps >= 0, 'must be an integer >= 0');
  check('stepSize', Number.isInteger(out.stepSize) && out.stepSize >= 1, 'must be an integer >= 1');
  check('gamma', Number.isFinite(out.gamma) && out.gamma > 0 && out.gamma <= 1, 'must be in (0, 1]');
  check('decaySteps', Number.isInteger(out.decaySteps) && out.decaySteps >= 1, 'must be an integer >= 1');
  check(
    'minLearningRate',
    Number.isFinite(out.minLearningRate) && out.minLearningRate >= 0 && out.minLearningRate <= learningRate,
    `must be in [0, optimizer.learningRate = ${learningRate}]`,
  );
  return Object.freeze(out);
}

/**
 * The learning rate of update `t` (0-based: the update that turns version t into t + 1):
 * linear warmup `lr * (t + 1) / W` for t < W, then with u = t - W
 * - constant: `lr`
 * - step: `lr * gamma^floor(u / stepSize)`
 * - exponential: `lr * gamma^(u / decaySteps)`
 * - cosine: `min + (lr - min) * (1 + cos(pi * min(u, D) / D)) / 2`, D = decaySteps.
 */
export function learningRateAt(learningRate: number, s: ScheduleSettings, t: number): number {
  if (t < s.warmupSteps) return (learningRate * (t + 1)) / s.warmupSteps;
  const u = t - s.warmupSteps;
  switch (s.type) {
    case 'constant':
      return learningRate;
    case 'step':
      return learningRate * s.gamma ** Math.floor(u / s.stepSize);
    case 'exponential':
      return learningRate * s.gamma ** (u / s.decaySteps);
    case 'cosine': {
      const p = Math.min(u, s.decaySteps) / s.decaySteps;
      return s.minLearningRate + ((learningRate - s.minLearningRate) * (1 + Math.cos(Math.PI * p))) / 2;
    }
  }
}

/**
 * The optimizer config with its schedule's defaults filled from the job (what the coordinator sends
 * to the parameter server, so every shard computes the same rates).
 */
export function resolveOptimizerSchedule(config: OptimizerConfig, context: ScheduleContext): OptimizerConfig {
  const s = compileSchedule(config.schedule, config.learningRate, context);
  return { ...config, schedule: { ...s } };
}
