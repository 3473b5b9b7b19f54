import { ValidationError } from '../errors.ts';
import type { OptimizerSpec, OptimizerSpec__Output } from '../generated/distrain/v1/OptimizerSpec.ts';
import type { VariableSpec, VariableSpec__Output } from '../generated/distrain/v1/VariableSpec.ts';
import type { LrScheduleName, OptimizerConfig, OptimizerName, WeightDecayScope } from '../job-spec.ts';
import type { InitializerName, VariableInfo } from '../variables.ts';
import { compileOptimizer } from './optimizers.ts';
import type { OptimizerSettings } from './optimizers.ts';

const TO_WIRE = {
  glorotUniform: 'INITIALIZER_GLOROT_UNIFORM',
  heNormal: 'INITIALIZER_HE_NORMAL',
  zeros: 'INITIALIZER_ZEROS',
  ones: 'INITIALIZER_ONES',
  embeddingUniform: 'INITIALIZER_EMBEDDING_UNIFORM',
} as const satisfies Record<InitializerName, string>;

const FROM_WIRE: Record<string, InitializerName> = {
  INITIALIZER_GLOROT_UNIFORM: 'glorotUniform',
  INITIALIZER_HE_NORMAL: 'heNormal',
  INITIALIZER_ZEROS: 'zeros',
  INITIALIZER_ONES: 'ones',
  INITIALIZER_EMBEDDING_UNIFORM: 'embeddingUniform',
};

/** A variable as it travels in `InitJobRequest.variables`. */
export function variableToSpec(v: VariableInfo): VariableSpec {
  return {
    name: v.name,
    shape: [...v.shape],
    initializer: TO_WIRE[v.initializer],
    fanIn: v.fanIn,
    fanOut: v.fanOut,
    trainable: v.trainable,
  };
}

/** A received variable spec, validated (field paths `variables[i].<field>`). */
export function variableFromSpec(s: VariableSpec__Output, index: number): VariableInfo {
  const field = `variables[${index}]`;
  if (!s.name) throw new ValidationError(`${field}.name`, 'must not be empty');
  for (const [j, d] of s.shape.entries()) {
    if (!Number.isInteger(d) || d < 0)
      throw new ValidationError(`${field}.shape[${j}]`, `must be a non-negative integer, got ${d}`);
  }
  const initializer = FROM_WIRE[String(s.initializer)];
  if (!initializer) {
    throw new ValidationError(
      `${field}.initializer`,
      `must be GLOROT_UNIFORM, HE_NORMAL, ZEROS or ONES, got ${String(s.initializer)}`,
    );
  }
  return {
    name: s.name,
    shape: [...s.shape],
    initializer,
    fanIn: s.fanIn,
    fanOut: s.fanOut,
    trainable: s.trainable,
  };
}

/** An optimizer config as it travels in `InitJobRequest.optimizer`, every default filled in. */
export function optimizerToSpec(config: OptimizerConfig): OptimizerSpec {
  const s = compileOptimizer(config);
  return { ...s, schedule: { ...s.schedule } };
}

/**
 * The settings a shard compiles from the InitJob that carries `config` (its schedule already resolved
 * for the job's length, as the coordinator sends it): each proto `float` rounded to float32 on the
 * way, then {@link optimizerFromSpec}. The job's only trainer, which applies its own steps
 * (`PushPullRequest.ack_only`), computes with exactly the shards' numbers.
 */
export function optimizerAsShardsSee(config: OptimizerConfig): OptimizerSettings {
  const s = compileOptimizer(config);
  const f = Math.fround;
  const w = s.schedule;
  return optimizerFromSpec({
    type: s.type,
    learningRate: f(s.learningRate),
    momentum: f(s.momentum),
    nesterov: s.nesterov,
    beta1: f(s.beta1),
    beta2: f(s.beta2),
    epsilon: f(s.epsilon),
    weightDecay: f(s.weightDecay),
    weightDecayScope: s.weightDecayScope,
    clipNorm: f(s.clipNorm),
    schedule: {
      type: w.type,
      warmupSteps: w.warmupSteps,
      stepSize: w.stepSize,
      gamma: f(w.gamma),
      decaySteps: w.decaySteps,
      minLearningRate: f(w.minLearningRate),
    },
  });
}

// OptimizerSpec fields are proto `float`: 0.999 arrives as 0.9990000128746033. Seven significant
// digits restore the decimal the user wrote (float32 round-trips at least six), so the server computes
// with the same numbers as a reference loop configured from the same spec.
function fromFloat32(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(7));
}

/**
 * A received optimizer spec, validated and compiled. Proto3 cannot tell an unset float from 0, so 0
 * means "default" for momentum (0.9), beta1 (0.9), beta2 (0.999) and epsilon (1e-7); the client always
 * sends explicit values.
 */
export function optimizerFromSpec(s: OptimizerSpec__Output | null, field = 'optimizer'): OptimizerSettings {
  if (!s) throw new ValidationError(field, 'is required');
  const orDefault = (x: number): number | undefined => (x === 0 ? undefined : fromFloat32(x));
  const config: OptimizerConfig = {
    type: s.type as OptimizerName,
    learningRate: fromFloat32(s.learningRate),
    nesterov: s.nesterov,
    weightDecay: fromFloat32(s.weightDecay),
    weightDecayScope: s.weightDecayScope === '' ? 'kernels' : (s.weightDecayScope as WeightDecayScope),
  };
  if (s.clipNorm !== 0) config.clipNorm = fromFloat32(s.clipNorm);
  if (s.schedule) {
    const w = s.schedule;
    config.schedule = {
      type: w.type as LrScheduleName,
      warmupSteps: w.warmupSteps,
      ...(w.stepSize === 0 ? {} : { stepSize: w.stepSize }),
      ...(w.gamma === 0 ? {} : { gamma: fromFloat32(w.gamma) }),
      ...(w.decaySteps === 0 ? {} : { decaySteps: w.decaySteps }),
      minLearningRate: fromFloat32(w.minLearningRate),
    };
  }
  const momentum = orDefault(s.momentum);
  const beta1 = orDefault(s.beta1);
  const beta2 = orDefault(s.beta2);
  const epsilon = orDefault(s.epsilon);
  if (momentum !== undefined) config.momentum = momentum;
  if (beta1 !== undefined) config.beta1 = beta1;
  if (beta2 !== undefined) config.beta2 = beta2;
  if (epsilon !== undefined) config.epsilon = epsilon;
  return compileOptimizer(config, field);
}
