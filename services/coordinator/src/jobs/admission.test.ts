import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStates, OverloadError, ValidationError } from '@distrain/core';
import { admitJob } from './admission.ts';
import { FakeCatalog, MNIST_INFO, fakeCoordinator, jobDoc, settle, idOf } from './test-fakes.ts';

const ctx = (catalog = new FakeCatalog()) => ({ catalog, jobs: [], maxActiveJobs: 4, nowMs: 5 });

test('an admitted job is Pending with its dataset, variables, steps per epoch and progress', async () => {
  const record = await admitJob(jobDoc({ epochs: 3 }), ctx());
  assert.match(record.id, /^unit-[0-9a-f]{6}$/);
  assert.equal(record.state, JobStates.pending);
  assert.equal(record.createdAtMs, 5);
  assert.equal(record.stepsPerEpoch, 10);
  assert.equal(record.progress.totalSteps, 30);
  assert.deepEqual(record.dataset, MNIST_INFO);
  // flatten 28x28 then dense 10: a 784x10 kernel and a bias of 10.
  assert.deepEqual(record.variables?.map((v) => v.shape).sort(), [[10], [784, 10]]);
  assert.equal(record.workers.size, 0);
});

test('a dataset the loader cannot serve is a ValidationError on spec.dataset with the loader message', async () => {
  const catalog = new FakeCatalog();
  catalog.failWith = Object.assign(new Error('5 NOT_FOUND: x'), { details: 'no dataset "nope"; use mnist' });
  await assert.rejects(admitJob(jobDoc(), ctx(catalog)), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, 'spec.dataset');
    assert.equal(err.message, 'spec.dataset: no dataset "nope"; use mnist');
    return true;
  });
});

test('a batch larger than the training set names spec.batchSize and the fix', async () => {
  const catalog = new FakeCatalog();
  catalog.info = { ...MNIST_INFO, trainCount: 32 };
  await assert.rejects(admitJob(jobDoc({ batchSize: 64 }), ctx(catalog)), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.field, 'spec.batchSize');
    assert.match(err.message, /has only 32 training samples; use at most 32/);
    return true;
  });
});

test('a model whose output does not match the classes is refused', async () => {
  const catalog = new FakeCatalog();
  catalog.info = { ...MNIST_INFO, numClasses: 5 };
  await assert.rejects(admitJob(jobDoc(), ctx(catalog)), ValidationError);
});

test('an invalid document is a ValidationError before the loader is asked', async () => {
  const catalog = new FakeCatalog();
  catalog.failWith = new Error('must not be called');
  await assert.rejects(admitJob({ kind: 'TrainingJob' }, ctx(catalog)), ValidationError);
});

test('the active-job limit: an OverloadError, and ended jobs do not count', async () => {
  const c = fakeCoordinator({ maxActiveJobs: 1 });
  const first = idOf(await c.manager.submit(jobDoc()));
  await settle();
  await assert.rejects(c.manager.submit(jobDoc()), OverloadError);
  await c.manager.cancel(first, '');
  const second = idOf(await c.manager.submit(jobDoc()));
  assert.notEqual(second, first);
  assert.equal(c.manager.list().length, 2);
});

test('resource budgets are checked at submit without building the model', async () => {
  // Two 65536-unit dense layers: 4.3e9 parameters would be 17 GB for tfjs to build; refused at once.
  const huge = jobDoc({
    model: {
      layers: [
        { type: 'flatten' },
        { type: 'dense', units: 65536 },
        { type: 'dense', units: 65536 },
        { type: 'dense', units: 10 },
      ],
    },
  });
  const t0 = performance.now();
  await assert.rejects(admitJob(huge, ctx()), (err: unknown) => {
    assert.ok(err instanceof OverloadError, String(err));
    assert.equal(err.field, 'spec.model.layers');
    assert.match(err.message, /budget of 50000000.*--max-parameters/);
    return true;
  });
  assert.ok(performance.now() - t0 < 1_000);
  await assert.rejects(
    admitJob(jobDoc({ trainers: { replicas: 3 } }), {
      ...ctx(),
      budget: { maxParameters: 1e6, maxLayers: 8, maxReplicas: 2, maxEpochs: 10, maxBatchSize: 64 },
    }),
    (err: unknown) => err instanceof OverloadError && err.field === 'spec.trainers.replicas',
  );
  await assert.rejects(
    admitJob(jobDoc({ trainers: { replicas: 8 }, batchSize: 4 }), ctx()),
    (err: unknown) => err instanceof ValidationError && err.field === 'spec.trainers.replicas',
  );
});
