import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.ts';
import type { LayerSpec } from '../job-spec.ts';
import { checkOutputMatchesClasses } from './validate.ts';

const mlp = (units: number): LayerSpec[] => [
  { type: 'dense', units: 8, activation: 'relu' },
  { type: 'dense', units },
];

void test('regression datasets (0 classes: float targets) need one output unit and meanSquaredError', () => {
  checkOutputMatchesClasses(mlp(1), [4], 0, 'meanSquaredError');
  assert.throws(
    () => checkOutputMatchesClasses(mlp(3), [4], 0, 'meanSquaredError'),
    (e: unknown) =>
      e instanceof ValidationError &&
      e.field === 'spec.model.layers[1].units' &&
      /set units to 1/.test(e.message),
  );
  assert.throws(
    () => checkOutputMatchesClasses(mlp(1), [4], 0, 'softmaxCrossEntropy'),
    (e: unknown) =>
      e instanceof ValidationError && e.field === 'spec.loss' && /meanSquaredError/.test(e.message),
  );
  // Classification is unchanged.
  checkOutputMatchesClasses(mlp(3), [4], 3, 'softmaxCrossEntropy');
  assert.throws(() => checkOutputMatchesClasses(mlp(1), [4], 3, 'softmaxCrossEntropy'), ValidationError);
});
