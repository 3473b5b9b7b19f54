// The data-loader's file policy (data roots, regular files, size limit) and the bounded dataset cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../errors.ts';
import {
  cachedDatasetIds,
  clearDatasetCache,
  datasetCacheBytes,
  loadDataset,
  setDatasetCacheLimit,
  DEFAULT_DATASET_CACHE_BYTES,
} from './cache.ts';
import { DEFAULT_MAX_DATASET_BYTES, setDatasetAccess } from './file-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'distrain-access-'));
const csv = join(dir, 'ok.csv');
writeFileSync(
  csv,
  `a,b,label\n${Array.from({ length: 40 }, (_, i) => `${i},${i % 3},${i % 2}`).join('\n')}\n`,
);

const refused = async (path: string, pattern: RegExp): Promise<void> => {
  await assert.rejects(loadDataset({ name: 'csv', path }), (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, 'dataset.path');
    assert.match(err.message, pattern);
    return true;
  });
};

test('datasets are read only under the data roots, as regular files, within the size limit', async (t) => {
  t.after(() => setDatasetAccess({}));
  setDatasetAccess({ roots: [dir] });
  clearDatasetCache();
  assert.equal((await loadDataset({ name: 'csv', path: csv })).train.count > 0, true);
  await refused('/etc/passwd', /outside this data-loader's data roots .*--data-root DIR/);
  // A symlink inside a root to a file outside is judged by its target.
  const link = join(dir, 'passwd.csv');
  symlinkSync('/etc/passwd', link);
  await refused(link, /outside/);
  await assert.rejects(loadDataset({ name: 'csv', path: join(dir, 'missing.csv') }), NotFoundError);
  // Without roots: still regular files only (no /dev/zero, no FIFO) and a size limit.
  setDatasetAccess({});
  await refused('/dev/zero', /not a regular file/);
  const fifo = join(dir, 'fifo.csv');
  execFileSync('mkfifo', [fifo]);
  await refused(fifo, /not a regular file/);
  setDatasetAccess({ maxBytes: 100 });
  clearDatasetCache();
  await refused(csv, /over this loader's limit of 100; .*--max-dataset-bytes/);
  assert.equal(DEFAULT_MAX_DATASET_BYTES, 2 * 1024 ** 3);
});

test('the dataset cache is bounded by bytes, least recently used out first', async (t) => {
  t.after(() => setDatasetCacheLimit(DEFAULT_DATASET_CACHE_BYTES));
  clearDatasetCache();
  const a = await loadDataset({ name: 'mnist', sampleCount: 20 });
  const perDataset = datasetCacheBytes();
  assert.ok(perDataset > 20 * 784, String(perDataset));
  // Sizes grow with sampleCount: 20 = 1x, 30 = 1.5x, 40 = 2x; a bound of 3.2x holds 20 + 40.
  const limit = Math.floor(perDataset * 3.2);
  setDatasetCacheLimit(limit);
  await loadDataset({ name: 'mnist', sampleCount: 30 });
  assert.equal(await loadDataset({ name: 'mnist', sampleCount: 20 }), a, 'a hit: the same object');
  await loadDataset({ name: 'mnist', sampleCount: 40 });
  // 20 was used after 30, so 30 went first.
  assert.deepEqual(cachedDatasetIds(), ['mnist:n=20', 'mnist:n=40']);
  assert.ok(datasetCacheBytes() <= limit);
  // Many distinct sampleCounts (the +7.5 MB each of the issue) stay within the bound: only the
  // newest one stays when it alone is larger.
  for (let n = 50; n <= 150; n += 10) await loadDataset({ name: 'mnist', sampleCount: n });
  assert.deepEqual(cachedDatasetIds(), ['mnist:n=150']);
});
