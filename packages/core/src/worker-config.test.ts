import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from './errors.ts';
import { WORKER_CONFIG_ENV, readWorkerConfig } from './worker-config.ts';

const base = {
  jobId: 'j',
  role: 'trainer',
  rank: 0,
  worldSize: 1,
  coordinator: '127.0.0.1:1',
  loader: '127.0.0.1:2',
  psShards: ['127.0.0.1:3'],
  job: {},
  dataset: {},
  stepsPerEpoch: 1,
};
const read = (extra: Record<string, unknown>) =>
  readWorkerConfig({ [WORKER_CONFIG_ENV]: JSON.stringify({ ...base, ...extra }) });

test('the workers` time limits are read when valid and refused naming the field otherwise', () => {
  const c = read({ coordinatorLossMs: 15_000, loaderRetryBudgetMs: 60_000 });
  assert.equal(c.coordinatorLossMs, 15_000);
  assert.equal(c.loaderRetryBudgetMs, 60_000);
  assert.equal(read({}).loaderRetryBudgetMs, undefined, 'absent: the defaults apply where used');
  for (const [key, value] of [
    ['coordinatorLossMs', 10],
    ['loaderRetryBudgetMs', 1.5e3 + 0.5],
    ['loaderRetryBudgetMs', '60000'],
  ] as const) {
    assert.throws(
      () => read({ [key]: value }),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.field === `${WORKER_CONFIG_ENV}.${key}` &&
        /integer number of milliseconds in 1000\.\.86400000/.test(err.message),
    );
  }
});
