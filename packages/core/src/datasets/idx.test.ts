import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetFileError, NotFoundError } from '../errors.ts';
import { parseIdx, readIdxDataset, readIdxFile } from './idx.ts';

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

function images(count: number, rows: number, cols: number): Uint8Array {
  return Uint8Array.from({ length: count * rows * cols }, (_, i) => i % 251);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-idx-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeSet(
  dir: string,
  train: number,
  testCount: number,
  labelsOf = (i: number) => i % 10,
): Promise<void> {
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => labelsOf(i));
  await writeFile(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([train, 4, 3], images(train, 4, 3))));
  await writeFile(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([train], labels(train))));
  await writeFile(
    join(dir, 't10k-images-idx3-ubyte.gz'),
    gzipSync(idx([testCount, 4, 3], images(testCount, 4, 3))),
  );
  await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([testCount], labels(testCount))));
}

test('parseIdx reads dims and data of a valid file', () => {
  const data = images(5, 4, 3);
  const parsed = parseIdx(idx([5, 4, 3], data), 'x.idx', 3);
  assert.deepEqual(parsed.dims, [5, 4, 3]);
  assert.deepEqual([...parsed.data], [...data]);
});

test('parseIdx rejects bad magic, wrong type, wrong ndim, truncated and trailing data, naming the file', () => {
  const good = idx([2, 2, 2], new Uint8Array(8));
  const cases: [Uint8Array, RegExp][] = [
    [Buffer.from([1, 2, 8, 3, 0, 0]), /bad\.idx: bad IDX magic/],
    [Buffer.concat([Buffer.from([0, 0, 0x0d, 3]), good.subarray(4)]), /bad\.idx: IDX element type 0x0d/],
    [idx([8], new Uint8Array(8)), /bad\.idx: IDX file has 1 dimensions, expected 3/],
    [good.subarray(0, good.length - 3), /bad\.idx: truncated IDX data.*need 8 bytes but the file has 5/],
    [Buffer.concat([good, Buffer.from([1, 2])]), /bad\.idx: 2 unexpected trailing bytes/],
    [good.subarray(0, 9), /bad\.idx: truncated IDX header/],
    [Buffer.from([0, 0]), /bad\.idx: too short/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => parseIdx(bytes, 'bad.idx', 3),
      (err: unknown) =>
        err instanceof DatasetFileError && message.test(err.message) && err.file === 'bad.idx',
    );
  }
});

test('readIdxFile: truncated gzip is a DatasetFileError naming the file; a missing file is NotFound', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'train-images-idx3-ubyte.gz');
    const gz = gzipSync(idx([10, 4, 3], images(10, 4, 3)));
    await writeFile(file, gz.subarray(0, gz.length - 20));
    await assert.rejects(
      readIdxFile(file, 3),
      (err: unknown) =>
        err instanceof DatasetFileError && err.message.includes(file) && /gzip/.test(err.message),
    );
    await assert.rejects(
      readIdxFile(join(dir, 'nope.gz')),
      (err: unknown) => err instanceof NotFoundError && err.message.includes('nope.gz'),
    );
  });
});

test('readIdxDataset reads a folder: uint8 [rows, cols, 1], scale 1/255, labels as int32', async () => {
  await withDir(async (dir) => {
    await writeSet(dir, 30, 12);
    const ds = await readIdxDataset('idx:test', dir, true);
    assert.deepEqual(ds.featureShape, [4, 3, 1]);
    assert.equal(ds.featureDtype, 'uint8');
    assert.equal(ds.featureScale, 1 / 255);
    assert.equal(ds.train.count, 30);
    assert.equal(ds.test.count, 12);
    assert.ok(ds.train.labels instanceof Int32Array);
    assert.equal(ds.train.labels[13], 3);
    assert.equal(ds.classNames[0], 'T-shirt/top');
    assert.equal(ds.classNames[9], 'Ankle boot');
    assert.equal(ds.train.features.length, 30 * 12);
    const digits = await readIdxDataset('idx:test2', dir, false);
    assert.deepEqual(digits.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});

test('readIdxDataset: label/image count mismatch and out-of-range fashion labels are DatasetFileErrors', async () => {
  await withDir(async (dir) => {
    await writeSet(dir, 30, 12);
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([11], new Uint8Array(11))));
    await assert.rejects(
      readIdxDataset('x', dir, true),
      /t10k-labels-idx1-ubyte\.gz: has 11 labels but .*t10k-images-idx3-ubyte\.gz has 12 images/,
    );
  });
  await withDir(async (dir) => {
    await writeSet(dir, 30, 12, (i) => i % 12);
    await assert.rejects(
      readIdxDataset('x', dir, true),
      (err: unknown) => err instanceof DatasetFileError && /label 11 is out of range/.test(err.message),
    );
    const digits = await readIdxDataset('y', dir, false);
    assert.equal(digits.numClasses, 12);
  });
  await withDir(async (dir) => {
    // Class count from the labels, not at least 10.
    await writeSet(dir, 30, 12, (i) => i % 3);
    const three = await readIdxDataset('z', dir, false);
    assert.equal(three.numClasses, 3);
    assert.deepEqual(three.classNames, ['0', '1', '2']);
  });
});
