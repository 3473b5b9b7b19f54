import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OverloadError, ValidationError } from './errors.ts';
import { DEFAULT_JOB_BUDGET, checkJobBudget, checkParameterBudget, countParameters } from './job-budget.ts';
import { validateJob } from './job-validate.ts';
import type { LayerSpec } from './job-spec.ts';
import { describeModel } from './model/describe.ts';

test('countParameters equals what tfjs builds, for every kind of layer with weights', () => {
  const cases: [LayerSpec[], number[]][] = [
    [
      [
        { type: 'flatten' },
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'batchNormalization' },
        { type: 'dense', units: 10, useBias: false },
      ],
      [28, 28],
    ],
    [
      [
        { type: 'reshape', targetShape: [8, 8, 1] },
        { type: 'conv2d', filters: 4, kernelSize: [3, 2] },
        { type: 'maxPooling2d' },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
      [64],
    ],
    [
      [
        { type: 'embedding', inputDim: 50, outputDim: 8 },
        { type: 'conv1d', filters: 5, kernelSize: 3 },
        { type: 'lstm', units: 6, returnSequences: true },
        { type: 'bidirectional', layer: { type: 'gru', units: 4 } },
        { type: 'dense', units: 2 },
      ],
      [12],
    ],
  ];
  for (const [layers, input] of cases)
    assert.equal(
      countParameters(layers, input),
      describeModel(layers, input).parameterCount,
      JSON.stringify(layers),
    );
});

test('budgets: 65536-unit layers, 256 replicas, epochs and replicas > batchSize are refused at submit', () => {
  const job = (spec: Record<string, unknown>) =>
    validateJob({
      apiVersion: 'distrain.io/v1',
      kind: 'TrainingJob',
      metadata: { name: 'b' },
      spec: {
        dataset: { name: 'mnist' },
        model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] },
        loss: 'softmaxCrossEntropy',
        optimizer: { type: 'sgd', learningRate: 0.1 },
        batchSize: 64,
        epochs: 1,
        ...spec,
      },
    });
  // Two dense layers of 65536 units: 4.3 billion parameters, counted in microseconds.
  const big: LayerSpec[] = [
    { type: 'flatten' },
    { type: 'dense', units: 65536 },
    { type: 'dense', units: 65536 },
    { type: 'dense', units: 10 },
  ];
  const t0 = performance.now();
  assert.throws(
    () => checkParameterBudget(big, [28, 28]),
    (err: unknown) =>
      err instanceof OverloadError &&
      err.field === 'spec.model.layers' &&
      /4347133962 exceeds this coordinator's budget of 50000000.*--max-parameters/.test(err.message),
  );
  assert.ok(performance.now() - t0 < 50);
  assert.equal(
    checkParameterBudget(big, [28, 28], { ...DEFAULT_JOB_BUDGET, maxParameters: 5e9 }),
    4347133962,
  );
  const refused = (spec: Record<string, unknown>, field: string, cls: unknown) =>
    assert.throws(
      () => checkJobBudget(job(spec)),
      (err: unknown) => err instanceof (cls as typeof Error) && (err as OverloadError).field === field,
    );
  refused({ trainers: { replicas: 256 }, batchSize: 512 }, 'spec.trainers.replicas', OverloadError);
  refused({ trainers: { replicas: 8 }, batchSize: 4 }, 'spec.trainers.replicas', ValidationError);
  refused({ epochs: 5000 }, 'spec.epochs', OverloadError);
  refused(
    { model: { layers: Array.from({ length: 65 }, () => ({ type: 'activation', activation: 'relu' })) } },
    'spec.model.layers',
    OverloadError,
  );
  checkJobBudget(job({ trainers: { replicas: 4 } }));
});
