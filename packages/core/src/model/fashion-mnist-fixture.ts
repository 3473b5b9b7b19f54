import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { HostSplit } from './reference-loop.ts';

/** Where Debian's `dataset-fashion-mnist` puts the IDX files. */
export const FASHION_MNIST_FIXTURE_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Test fixture: one Fashion-MNIST split read straight from the IDX .gz files (16-byte image
 * header, 8-byte label header), so model tests do not depend on the datasets area.
 */
export function readFashionMnistSplit(split: 'train' | 't10k', dir = FASHION_MNIST_FIXTURE_DIR): HostSplit {
  const images = gunzipSync(readFileSync(`${dir}/${split}-images-idx3-ubyte.gz`));
  const labels = gunzipSync(readFileSync(`${dir}/${split}-labels-idx1-ubyte.gz`));
  const count = labels.readUInt32BE(4);
  return {
    features: new Uint8Array(images.buffer, images.byteOffset + 16, count * 784),
    labels: Int32Array.from(labels.subarray(8, 8 + count)),
    count,
  };
}
