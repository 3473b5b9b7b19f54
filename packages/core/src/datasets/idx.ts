import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetFileError, NotFoundError } from '../errors.ts';
import { readMaybeGzip } from './file-io.ts';
import type { Dataset, SplitData } from './types.ts';

/** A parsed IDX file of unsigned bytes: its dimensions and the raw elements (a view, no copy). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** IDX type byte of unsigned 8-bit data, the only one MNIST-family files use. */
const IDX_UBYTE = 0x08;

/** Fashion-MNIST class names, index = label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/**
 * Parses an IDX file (http://yann.lecun.com/exdb/mnist/ format) holding unsigned bytes: magic
 * `00 00 08 <ndim>`, `ndim` big-endian uint32 dimensions, then exactly `product(dims)` bytes.
 * Anything else (wrong magic, other element type, truncated data, trailing bytes) is a
 * {@link DatasetFileError} whose message names `file` and the problem. `expectedDims` checks ndim.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims?: number): IdxArray {
  if (bytes.length < 4)
    throw new DatasetFileError(`${file}: too short for an IDX header (${bytes.length} bytes)`, { file });
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  const type = bytes[2] as number;
  const ndim = bytes[3] as number;
  if (b0 !== 0 || b1 !== 0) {
    const magic = Buffer.from(bytes.subarray(0, 4)).toString('hex');
    throw new DatasetFileError(
      `${file}: bad IDX magic number 0x${magic} (expected 0x000008nn); not an IDX file`,
      { file },
    );
  }
  if (type !== IDX_UBYTE) {
    throw new DatasetFileError(
      `${file}: IDX element type 0x${type.toString(16).padStart(2, '0')} is not supported (only 0x08 unsigned byte)`,
      {
        file,
      },
    );
  }
  if (expectedDims !== undefined && ndim !== expectedDims) {
    throw new DatasetFileError(`${file}: IDX file has ${ndim} dimensions, expected ${expectedDims}`, {
      file,
    });
  }
  if (ndim === 0) throw new DatasetFileError(`${file}: IDX file has 0 dimensions`, { file });
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new DatasetFileError(
      `${file}: truncated IDX header (${bytes.length} bytes, header needs ${headerBytes})`,
      { file },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const have = bytes.length - headerBytes;
  if (have < size) {
    throw new DatasetFileError(
      `${file}: truncated IDX data: dimensions [${dims.join(', ')}] need ${size} bytes but the file has ${have}`,
      { file },
    );
  }
  if (have > size) {
    throw new DatasetFileError(
      `${file}: ${have - size} unexpected trailing bytes after IDX data of dimensions [${dims.join(', ')}]`,
      {
        file,
      },
    );
  }
  // A plain Uint8Array view (not a Buffer), so consumers see one array type whatever the source.
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, size) };
}

/** Reads and parses one (optionally gzip-compressed) IDX file. */
export async function readIdxFile(file: string, expectedDims?: number): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(file), file, expectedDims);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Awaits all, in parallel, and throws the first failure in argument order (not in time order), so
 * the error a user sees for a folder with several bad files is always the same one.
 */
async function allInOrder<T extends unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

/** Finds `<base>.gz` or `<base>` in `dir`; missing both is a NotFoundError naming the .gz file. */
async function findIdx(dir: string, base: string): Promise<string> {
  const gz = join(dir, `${base}.gz`);
  if (await exists(gz)) return gz;
  const plain = join(dir, base);
  if (await exists(plain)) return plain;
  throw new NotFoundError(`dataset file ${gz} does not exist (nor ${plain})`, { file: gz });
}

interface IdxSplit {
  split: SplitData;
  rows: number;
  cols: number;
  maxLabel: number;
}

async function readIdxSplit(dir: string, prefix: 'train' | 't10k'): Promise<IdxSplit> {
  const imagesFile = await findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = await findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  const [images, labels] = await allInOrder<[IdxArray, IdxArray]>([
    readIdxFile(imagesFile, 3),
    readIdxFile(labelsFile, 1),
  ]);
  const [count, rows, cols] = images.dims as [number, number, number];
  const labelCount = labels.dims[0] as number;
  if (labelCount !== count) {
    throw new DatasetFileError(
      `${labelsFile}: has ${labelCount} labels but ${imagesFile} has ${count} images`,
      { file: labelsFile },
    );
  }
  const out = new Int32Array(count);
  let maxLabel = 0;
  for (let i = 0; i < count; i++) {
    const v = labels.data[i] as number;
    out[i] = v;
    if (v > maxLabel) maxLabel = v;
  }
  return { split: { count, features: images.data, labels: out }, rows, cols, maxLabel };
}

/**
 * Reads an MNIST-format folder (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
 * `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`; uncompressed files work too). Images
 * stay uint8 with shape [rows, cols, 1] and scale 1/255. `fashion` selects the Fashion-MNIST class
 * names (and checks labels < 10); otherwise the class count comes from the labels: '0', '1', ... up to
 * the largest label of either split (a 3-class set has 3 classes, not 10).
 */
export async function readIdxDataset(id: string, dir: string, fashion: boolean): Promise<Dataset> {
  const [train, test] = await allInOrder<[IdxSplit, IdxSplit]>([
    readIdxSplit(dir, 'train'),
    readIdxSplit(dir, 't10k'),
  ]);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DatasetFileError(
      `${dir}: train images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`,
      { file: dir },
    );
  }
  const maxLabel = Math.max(train.maxLabel, test.maxLabel);
  let classNames: string[];
  if (fashion) {
    if (maxLabel >= FASHION_MNIST_CLASSES.length) {
      throw new DatasetFileError(`${dir}: label ${maxLabel} is out of range for Fashion-MNIST (0..9)`, {
        file: dir,
      });
    }
    classNames = [...FASHION_MNIST_CLASSES];
  } else {
    classNames = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  }
  return {
    id,
    featureShape: [train.rows, train.cols, 1],
    featureDtype: 'uint8',
    featureScale: 1 / 255,
    numClasses: classNames.length,
    classNames,
    labelDtype: 'int32',
    train: train.split,
    test: test.split,
  };
}
