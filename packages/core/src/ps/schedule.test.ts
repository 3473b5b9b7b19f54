import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.ts';
import { clipFactor, decays, globalNorm, sumOfSquares } from './clip.ts';
import { compileOptimizer } from './optimizers.ts';
import { compileSchedule, learningRateAt, resolveOptimizerSchedule } from './schedule.ts';
import { StepPolicy } from './step-policy.ts';

const ctx = { stepsPerEpoch: 10, totalSteps: 100 };
const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

void test('constant with warmup: linear ramp (t + 1) / W, then flat', () => {
  const s = compileSchedule({ type: 'constant', warmupSteps: 4 }, 0.1, ctx);
  close(learningRateAt(0.1, s, 0), 0.025);
  close(learningRateAt(0.1, s, 1), 0.05);
  close(learningRateAt(0.1, s, 3), 0.1);
  close(learningRateAt(0.1, s, 4), 0.1);
  close(learningRateAt(0.1, s, 99), 0.1);
  // No schedule at all: the plain rate.
  close(learningRateAt(0.1, compileSchedule(undefined, 0.1, ctx), 57), 0.1);
});

void test('step: lr * gamma^floor(u / stepSize); defaults one epoch and 0.1', () => {
  const s = compileSchedule({ type: 'step', stepSize: 3, gamma: 0.5 }, 0.8, ctx);
  close(learningRateAt(0.8, s, 0), 0.8);
  close(learningRateAt(0.8, s, 2), 0.8);
  close(learningRateAt(0.8, s, 3), 0.4);
  close(learningRateAt(0.8, s, 6), 0.2);
  close(learningRateAt(0.8, s, 8), 0.2);
  const d = compileSchedule({ type: 'step', warmupSteps: 2 }, 1, ctx);
  assert.equal(d.stepSize, 10);
  assert.equal(d.gamma, 0.1);
  close(learningRateAt(1, d, 11), 1); // u = 9
  close(learningRateAt(1, d, 12), 0.1); // u = 10
});

void test('exponential: lr * gamma^(u / decaySteps)', () => {
  const s = compileSchedule({ type: 'exponential', gamma: 0.5, decaySteps: 2 }, 1, ctx);
  close(learningRateAt(1, s, 0), 1);
  close(learningRateAt(1, s, 1), Math.SQRT1_2);
  close(learningRateAt(1, s, 2), 0.5);
  close(learningRateAt(1, s, 6), 0.125);
  const d = compileSchedule({ type: 'exponential' }, 1, ctx);
  assert.equal(d.gamma, 0.96);
  assert.equal(d.decaySteps, 10);
});

void test('cosine: min + (lr - min)(1 + cos(pi u / D)) / 2, flat at min after D; default D = rest of job', () => {
  const s = compileSchedule(
    { type: 'cosine', warmupSteps: 2, decaySteps: 4, minLearningRate: 0.1 },
    0.5,
    ctx,
  );
  close(learningRateAt(0.5, s, 0), 0.25);
  close(learningRateAt(0.5, s, 1), 0.5);
  close(learningRateAt(0.5, s, 2), 0.5); // u = 0
  close(learningRateAt(0.5, s, 3), 0.1 + (0.4 * (1 + Math.SQRT1_2)) / 2); // u = 1: cos(pi/4)
  close(learningRateAt(0.5, s, 4), 0.3); // u = 2: cos(pi/2) = 0
  close(learningRateAt(0.5, s, 6), 0.1); // u = 4
  close(learningRateAt(0.5, s, 60), 0.1);
  assert.equal(compileSchedule({ type: 'cosine', warmupSteps: 10 }, 1, ctx).decaySteps, 90);
});

void test('bad schedules name the field', () => {
  const bad: [Parameters<typeof compileSchedule>[0], string][] = [
    [{ type: 'linear' as 'step' }, 'optimizer.schedule.type'],
    [{ type: 'step', stepSize: 0 }, 'optimizer.schedule.stepSize'],
    [{ type: 'step', gamma: 1.5 }, 'optimizer.schedule.gamma'],
    [{ type: 'cosine', warmupSteps: -1 }, 'optimizer.schedule.warmupSteps'],
    [{ type: 'cosine', minLearningRate: 2 }, 'optimizer.schedule.minLearningRate'],
  ];
  for (const [s, field] of bad) {
    assert.throws(
      () => compileSchedule(s, 1, ctx),
      (e: unknown) => e instanceof ValidationError && e.field === field,
      field,
    );
  }
  assert.throws(
    () => compileOptimizer({ type: 'sgd', learningRate: 1, weightDecayScope: 'biases' as 'all' }),
    (e: unknown) => e instanceof ValidationError && e.field === 'optimizer.weightDecayScope',
  );
  // The coordinator fills the defaults the parameter server then uses.
  const resolved = resolveOptimizerSchedule(
    { type: 'sgd', learningRate: 1, schedule: { type: 'cosine' } },
    ctx,
  );
  assert.deepEqual(resolved.schedule, {
    type: 'cosine',
    warmupSteps: 0,
    stepSize: 10,
    gamma: 0.1,
    decaySteps: 100,
    minLearningRate: 0,
  });
});

void test('clipping: sum of squares of the scaled rank sum, global norm, factor min(1, c / norm)', () => {
  const a = Float32Array.from([1, 2]);
  const b = Float32Array.from([3, -2]);
  // (1 + 3) / 2 = 2, (2 - 2) / 2 = 0 -> 4
  assert.equal(sumOfSquares([a, b], 0.5), 4);
  assert.equal(sumOfSquares([a], 1), 5);
  assert.equal(sumOfSquares([a, b, a], 1), 25 + 4);
  assert.equal(globalNorm([9, 16]), 5);
  assert.equal(clipFactor(5, 1), 0.2);
  assert.equal(clipFactor(0.5, 1), 1);
  assert.equal(clipFactor(5, 0), 1);
  assert.equal(clipFactor(Number.NaN, 1), 1);
});

void test('weight decay scope: kernels only by default; StepPolicy gives the scheduled rate', () => {
  assert.equal(decays('l0_dense/kernel', 'kernels'), true);
  assert.equal(decays('l0_dense/bias', 'kernels'), false);
  assert.equal(decays('l2_batchNormalization/gamma', 'kernels'), false);
  assert.equal(decays('l2_batchNormalization/beta', 'all'), true);
  const policy = new StepPolicy(
    compileOptimizer({
      type: 'sgd',
      learningRate: 0.4,
      weightDecay: 0.01,
      schedule: { type: 'step', stepSize: 2, gamma: 0.5 },
    }),
  );
  close(policy.begin(0), 0.4);
  assert.equal(policy.settingsFor('x/kernel').weightDecay, 0.01);
  assert.equal(policy.settingsFor('x/bias').weightDecay, 0);
  close(policy.begin(2), 0.2);
  close(policy.settingsFor('x/kernel').learningRate, 0.2);
  close(policy.settingsFor('x/bias').learningRate, 0.2);
});
