import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetFileError, ValidationError } from '../errors.ts';
import { readCsvDataset, splitCsvLine } from './csv.ts';

async function withFiles(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-csv-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('splitCsvLine handles quotes and escaped quotes', () => {
  assert.deepEqual(splitCsvLine('1, "a,b" ,"x""y",'), ['1', 'a,b', 'x"y', '']);
});

test('CSV: integer features become float32, integer labels int32 classes 0..max, stratified holdout', async () => {
  const rows = Array.from({ length: 10 }, (_, i) => `${i},${i * 2},${i % 3}`).join('\n');
  await withFiles({ 'd.csv': `a,b,label\n${rows}\n\n` }, async (dir) => {
    const ds = await readCsvDataset('csv:x', join(dir, 'd.csv'), '', 'label', 0.2);
    assert.equal(ds.featureDtype, 'float32');
    assert.deepEqual(ds.featureShape, [2]);
    assert.equal(ds.featureScale, 1);
    assert.ok(ds.train.features instanceof Float32Array);
    assert.ok(ds.train.labels instanceof Int32Array);
    // round(4 * 0.2) + round(3 * 0.2) + round(3 * 0.2): one row of each class.
    assert.equal(ds.train.count, 7);
    assert.equal(ds.test.count, 3);
    assert.deepEqual([...ds.test.labels].sort(), [0, 1, 2]);
    // Rows stay whole (features with their label) and in file order.
    const a = [...ds.test.features].filter((_, i) => i % 2 === 0);
    assert.deepEqual(
      a.map((x) => x % 3),
      [...ds.test.labels],
    );
    assert.deepEqual(
      a,
      [...a].sort((x, y) => x - y),
    );
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(ds.classNames, ['0', '1', '2']);
  });
});

test('CSV: a class-sorted file gets a stratified, seeded test set (every class, same rows every time)', async () => {
  const rows: string[] = [];
  for (const kind of ['ant', 'bee', 'cat']) for (let i = 0; i < 30; i++) rows.push(`${i},${i % 7},${kind}`);
  await withFiles({ 's.csv': `x,y,kind\n${rows.join('\n')}\n` }, async (dir) => {
    const a = await readCsvDataset('csv:s', join(dir, 's.csv'), '', 'kind', 0.2);
    const perClass = [0, 0, 0];
    for (const l of a.test.labels) perClass[l] = (perClass[l] as number) + 1;
    assert.deepEqual(perClass, [6, 6, 6]); // the last 20% would have been 18 rows of "cat"
    assert.equal(a.train.count, 72);
    const b = await readCsvDataset('csv:s2', join(dir, 's.csv'), '', 'kind', 0.2);
    assert.deepEqual([...b.test.features], [...a.test.features]);
    // Not simply the last rows of each class.
    const xs = [...a.test.features].filter((_, i) => i % 2 === 0);
    assert.notDeepEqual(xs, [24, 25, 26, 27, 28, 29, 24, 25, 26, 27, 28, 29, 24, 25, 26, 27, 28, 29]);
  });
});

test('CSV: string labels map to sorted class names; label column by index; separate test file', async () => {
  await withFiles(
    {
      'train.csv': 'x,y,kind\n1.5,2,virginica\n0,1,setosa\n3,3,versicolor\n',
      'test.csv': 'x,y,kind\n1,1,setosa\n2,2,zeta\n',
    },
    async (dir) => {
      const ds = await readCsvDataset('csv:y', join(dir, 'train.csv'), join(dir, 'test.csv'), '2', 0.2);
      assert.deepEqual(ds.classNames, ['setosa', 'versicolor', 'virginica', 'zeta']);
      assert.deepEqual([...ds.train.labels], [2, 0, 1]);
      assert.deepEqual([...ds.test.labels], [0, 3]);
      assert.deepEqual([...ds.train.features], [1.5, 2, 0, 1, 3, 3]);
    },
  );
});

test('CSV: headerless file uses the last column; fractional labels are float32 regression targets', async () => {
  await withFiles({ 'r.csv': '1,2,0.5\n3,4,1.25\n5,6,2\n7,8,3\n' }, async (dir) => {
    const ds = await readCsvDataset('csv:r', join(dir, 'r.csv'), '', 'label', 0.25);
    assert.equal(ds.labelDtype, 'float32');
    assert.ok(ds.train.labels instanceof Float32Array);
    // A seeded random row is held out; the rest keep file order.
    assert.equal(ds.test.count, 1);
    assert.equal(ds.train.count, 3);
    const all = [...ds.train.labels, ...ds.test.labels].sort((x, y) => x - y);
    assert.deepEqual(all, [0.5, 1.25, 2, 3]);
    assert.equal(ds.numClasses, 0);
  });
});

test('CSV: ragged row and non-numeric feature name file, line and column', async () => {
  await withFiles(
    { 'bad.csv': 'a,b,label\n1,2,0\n3,4\n', 'nan.csv': 'a,b,label\n1,2,0\n3,oops,1\n' },
    async (dir) => {
      const bad = join(dir, 'bad.csv');
      await assert.rejects(
        readCsvDataset('c', bad, '', 'label', 0.5),
        (err: unknown) =>
          err instanceof DatasetFileError &&
          err.message === `${bad}: line 3 has 2 fields but the header has 3`,
      );
      const nan = join(dir, 'nan.csv');
      await assert.rejects(
        readCsvDataset('c', nan, '', 'label', 0.5),
        (err: unknown) =>
          err instanceof DatasetFileError &&
          err.message === `${nan}: line 3, column 2 "b": "oops" is not a number`,
      );
    },
  );
});

test('CSV: unknown label column is a ValidationError naming dataset.label_column', async () => {
  await withFiles({ 'd.csv': 'a,b,label\n1,2,0\n3,4,1\n' }, async (dir) => {
    await assert.rejects(
      readCsvDataset('c', join(dir, 'd.csv'), '', 'target', 0.5),
      (err: unknown) => err instanceof ValidationError && err.field === 'dataset.label_column',
    );
  });
});

test('CSV standardize: mean 0 / std 1 from the training split only, applied to the test split too', async () => {
  await withFiles(
    {
      'train.csv': 'a,b,label\n1,5,0\n3,5,1\n5,5,0\n7,5,1\n',
      'test.csv': 'a,b,label\n9,6,0\n',
    },
    async (dir) => {
      const ds = await readCsvDataset(
        'csv:std',
        join(dir, 'train.csv'),
        join(dir, 'test.csv'),
        'label',
        0.2,
        true,
      );
      // Column a: mean 4, population std sqrt(5); column b is constant: only centered.
      const s = Math.sqrt(5);
      const want = [-3 / s, 0, -1 / s, 0, 1 / s, 0, 3 / s, 0];
      [...ds.train.features].forEach((x, i) =>
        assert.ok(Math.abs(x - (want[i] as number)) < 1e-6, `${i}: ${x}`),
      );
      // The test row uses the training statistics (not its own): (9 - 4) / sqrt(5), 6 - 5.
      assert.ok(Math.abs((ds.test.features[0] as number) - 5 / s) < 1e-6);
      assert.ok(Math.abs((ds.test.features[1] as number) - 1) < 1e-6);
      const plain = await readCsvDataset(
        'csv:raw',
        join(dir, 'train.csv'),
        join(dir, 'test.csv'),
        'label',
        0.2,
      );
      assert.deepEqual([...plain.test.features], [9, 6]);
    },
  );
});
