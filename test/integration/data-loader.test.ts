// Over 400 lines: one integration suite per service contract, sharing one set of running servers.
/**
 * DataLoaderService over real gRPC on loopback (port 0) with the real Fashion-MNIST files of the
 * Debian package dataset-fashion-mnist. Fails (never skips) when the files are missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { isServiceError } from '@distrain/core';
import { dataLoaderClient } from '@distrain/core';
import { sleep, unary } from '@distrain/core';
import { FASHION_MNIST_DIR, readIdxFile, streamBatches } from '@distrain/core/datasets';
import type { DataBatch } from '@distrain/core/datasets';
import type { DataLoaderServiceClient } from '@distrain/core';
import type { StreamBatchesRequest } from '@distrain/core';
import type { StreamBatchesResponse__Output } from '@distrain/core';
import { startLoaderServer } from '../../services/data-loader/src/loader-service.ts';
import type { RunningLoader } from '../../services/data-loader/src/loader-service.ts';

const FASHION = { name: 'fashion-mnist' };
const TRAIN = 60_000;
const TEST = 10_000;

let loader: RunningLoader;
let client: DataLoaderServiceClient;
let trainLabels: Uint8Array;
let testLabels: Uint8Array;
let trainImages: Uint8Array;
let batchesSent = 0;

before(async () => {
  for (const f of [
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
  ]) {
    await access(join(FASHION_MNIST_DIR, f)).catch(() => {
      throw new Error(
        `Fashion-MNIST file ${join(FASHION_MNIST_DIR, f)} is missing: apt-get install dataset-fashion-mnist`,
      );
    });
  }
  loader = await startLoaderServer({ onBatch: () => batchesSent++ });
  client = dataLoaderClient(loader.server.address);
  trainLabels = (await readIdxFile(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'), 1)).data;
  testLabels = (await readIdxFile(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'), 1)).data;
  trainImages = (await readIdxFile(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'), 3)).data;
});

after(async () => {
  client?.close();
  await loader?.shutdown(1_000);
});

function req(over: Partial<StreamBatchesRequest> = {}): StreamBatchesRequest {
  return {
    jobId: 'job-1',
    dataset: FASHION,
    split: 'SPLIT_TRAIN',
    epoch: 0,
    rank: 0,
    worldSize: 1,
    globalBatchSize: 256,
    seed: 42,
    ...over,
  };
}

async function collect(r: StreamBatchesRequest, c = client): Promise<DataBatch[]> {
  const out: DataBatch[] = [];
  for await (const b of streamBatches(c, r, { retries: 0 })) out.push(b);
  return out;
}

/** Concatenated indices of all steps. */
function allIndices(batches: DataBatch[]): number[] {
  return batches.flatMap((b) => [...b.indices]);
}

async function expectStatus(r: StreamBatchesRequest, code: GrpcStatus, field: RegExp): Promise<ServiceError> {
  let caught: unknown;
  try {
    await collect(r);
  } catch (err) {
    caught = err;
  }
  assert.ok(isServiceError(caught), `expected a gRPC error for ${JSON.stringify(r)}, got ${String(caught)}`);
  assert.equal(caught.code, code, `${caught.details}`);
  assert.match(caught.details, field);
  return caught;
}

test('DescribeDataset reports Fashion-MNIST counts, shape, dtype, classes, scale', async () => {
  const d = await unary(client, client.describeDataset, { dataset: FASHION });
  assert.equal(d.trainCount, TRAIN);
  assert.equal(d.testCount, TEST);
  assert.deepEqual(d.featureShape, [28, 28, 1]);
  assert.equal(d.featureDtype, 'DTYPE_UINT8');
  assert.equal(d.numClasses, 10);
  assert.equal(d.classNames[0], 'T-shirt/top');
  assert.equal(d.classNames[9], 'Ankle boot');
  assert.ok(Math.abs(d.featureScale - 1 / 255) < 1e-7);
});

test('world sizes 1, 2, 3: every train sample once per epoch; rank slices reassemble the 1-rank global batch', async () => {
  const B = 250; // 60000 / 250 = 240 steps; also exercise a short last batch below
  const single = await collect(req({ globalBatchSize: B }));
  assert.equal(single.length, 240);
  const seen = new Uint8Array(TRAIN);
  for (const i of allIndices(single)) seen[i]! += 1;
  assert.ok(
    seen.every((n) => n === 1),
    'each sample exactly once with one rank',
  );
  // features and labels of a batch match the files
  const b0 = single[0]!;
  assert.deepEqual(b0.features.shape, [B, 28, 28, 1]);
  for (let k = 0; k < B; k += 37) {
    const i = b0.indices[k]!;
    assert.equal(b0.labels.data[k], trainLabels[i]);
    assert.deepEqual(
      b0.features.data.subarray(k * 784, (k + 1) * 784),
      trainImages.subarray(i * 784, (i + 1) * 784),
    );
  }
  // Over real grpc-js the int32 labels arrive aligned (the loader's alignment_padding): they are a
  // view of the received message, like the uint8 features, not a copy.
  for (const b of single) assert.equal(b.labels.data.buffer, b.features.data.buffer, `step ${b.step}`);
  for (const world of [2, 3]) {
    const ranks = await Promise.all(
      Array.from({ length: world }, (_, rank) =>
        collect(req({ globalBatchSize: B, rank, worldSize: world })),
      ),
    );
    const counts = new Uint8Array(TRAIN);
    for (let step = 0; step < single.length; step++) {
      const parts = ranks.map((r) => r[step]!);
      const union: number[] = [];
      for (const p of parts) {
        assert.equal(p.step, step);
        assert.equal(p.offset, union.length, 'slices are contiguous, in rank order');
        assert.equal(p.globalBatchSize, B);
        union.push(...p.indices);
      }
      assert.deepEqual(union, [...single[step]!.indices], `world ${world} step ${step}`);
      for (const i of union) counts[i]! += 1;
    }
    assert.ok(
      counts.every((n) => n === 1),
      `world ${world}: each sample exactly once`,
    );
  }
});

test('short last batch: 60000 / 128 -> 469 steps, the last of 96 samples, split across 3 ranks', async () => {
  const ranks = await Promise.all(
    [0, 1, 2].map((rank) => collect(req({ globalBatchSize: 128, rank, worldSize: 3, startStep: 460 }))),
  );
  const last = ranks.map((r) => r.at(-1)!);
  assert.deepEqual(
    last.map((b) => b.step),
    [468, 468, 468],
  );
  assert.deepEqual(
    last.map((b) => b.globalBatchSize),
    [96, 96, 96],
  );
  assert.deepEqual(
    last.map((b) => b.indices.length),
    [32, 32, 32],
  );
  assert.equal(last[0]!.stepsInEpoch, 469);
});

test('epochs differ, the same seed repeats exactly, another seed differs', async () => {
  const e0 = allIndices(await collect(req({ globalBatchSize: 1000 })));
  const e0again = allIndices(await collect(req({ globalBatchSize: 1000 })));
  const e1 = allIndices(await collect(req({ globalBatchSize: 1000, epoch: 1 })));
  const s7 = allIndices(await collect(req({ globalBatchSize: 1000, seed: 7 })));
  assert.deepEqual(e0again, e0);
  assert.notDeepEqual(e1, e0);
  assert.notDeepEqual(s7, e0);
  assert.deepEqual(
    [...e1].sort((a, b) => a - b),
    [...e0].sort((a, b) => a - b),
  );
});

test('test split arrives in dataset order with the file labels, for any world size and seed', async () => {
  const one = await collect(req({ split: 'SPLIT_TEST', globalBatchSize: 512, seed: 99, epoch: 3 }));
  const idx = allIndices(one);
  assert.deepEqual(
    idx,
    Array.from({ length: TEST }, (_, i) => i),
  );
  const labels = one.flatMap((b) => [...b.labels.data]);
  assert.deepEqual(labels, [...testLabels]);
  const two = await Promise.all(
    [0, 1].map((rank) => collect(req({ split: 'SPLIT_TEST', globalBatchSize: 512, rank, worldSize: 2 }))),
  );
  const merged: number[] = [];
  for (let s = 0; s < two[0]!.length; s++) merged.push(...two[0]![s]!.indices, ...two[1]![s]!.indices);
  assert.deepEqual(merged, idx);
});

test('resume: start_step/end_step give exactly those steps of the full sequence', async () => {
  const full = await collect(req({ globalBatchSize: 600 }));
  const part = await collect(req({ globalBatchSize: 600, startStep: 40, endStep: 45 }));
  assert.deepEqual(
    part.map((b) => b.step),
    [40, 41, 42, 43, 44],
  );
  for (const b of part) assert.deepEqual(b.indices, full[b.step]!.indices);
});

test('bad input: each gets its status code and a message naming the field; the service stays up', async () => {
  const INVALID = GrpcStatus.INVALID_ARGUMENT;
  await expectStatus(req({ globalBatchSize: 0 }), INVALID, /^global_batch_size/);
  await expectStatus(
    req({ globalBatchSize: TRAIN + 1 }),
    INVALID,
    /^global_batch_size: is 60001 but the split has only 60000/,
  );
  await expectStatus(req({ split: 'SPLIT_TEST', globalBatchSize: TEST + 1 }), INVALID, /^global_batch_size/);
  await expectStatus(req({ rank: 2, worldSize: 2 }), INVALID, /^rank: is 2 but world_size is 2/);
  await expectStatus(req({ worldSize: 0 }), INVALID, /^world_size/);
  await expectStatus(req({ split: 'SPLIT_UNSPECIFIED' }), INVALID, /^split/);
  await expectStatus(req({ jobId: '' }), INVALID, /^job_id/);
  await expectStatus(req({ dataset: null }), INVALID, /^dataset/);
  await expectStatus(req({ startStep: 10_000 }), INVALID, /^start_step/);
  await expectStatus(req({ startStep: 5, endStep: 3 }), INVALID, /^end_step/);
  await expectStatus(
    req({ dataset: { name: 'imagenet' } }),
    GrpcStatus.NOT_FOUND,
    /^dataset\.name: unknown dataset "imagenet"/,
  );
  await expectStatus(req({ dataset: { name: 'idx' } }), INVALID, /^dataset\.path/);
  await expectStatus(
    req({ dataset: { name: 'idx', path: '/nonexistent/fmnist' } }),
    GrpcStatus.NOT_FOUND,
    /\/nonexistent\/fmnist\/train-images-idx3-ubyte\.gz/,
  );
  await assert.rejects(
    unary(client, client.describeDataset, { dataset: { name: 'nope' } }),
    (err: unknown) => isServiceError(err) && err.code === GrpcStatus.NOT_FOUND,
  );
  await assert.rejects(
    unary(client, client.releaseJob, { jobId: '' }),
    (err: unknown) => isServiceError(err) && err.code === INVALID && /^job_id/.test(err.details),
  );
  const d = await unary(client, client.describeDataset, { dataset: FASHION });
  assert.equal(d.trainCount, TRAIN, 'still serving');
});

test('corrupt IDX file -> FAILED_PRECONDITION naming the file; fixing it makes the dataset loadable', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-corrupt-'));
  try {
    for (const f of ['train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
      await copyFile(join(FASHION_MNIST_DIR, f), join(dir, f));
    const images = join(dir, 'train-images-idx3-ubyte.gz');
    const raw = gunzipSync(await readFile(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')));
    await writeFile(images, gzipSync(raw.subarray(0, raw.length - 1000), { level: 1 }));
    const dataset = { name: 'idx', path: dir };
    const err = await expectStatus(req({ dataset }), GrpcStatus.FAILED_PRECONDITION, /truncated IDX data/);
    assert.ok(err.details.includes(images), err.details);
    const gz = await readFile(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
    await writeFile(images, gz.subarray(0, gz.length >> 1));
    await assert.rejects(
      unary(client, client.describeDataset, { dataset }),
      (e: unknown) =>
        isServiceError(e) &&
        e.code === GrpcStatus.FAILED_PRECONDITION &&
        e.details.includes(images) &&
        /gzip/.test(e.details),
    );
    await copyFile(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'), images);
    const d = await unary(client, client.describeDataset, { dataset }, { timeoutMs: 20_000 });
    assert.equal(d.trainCount, TRAIN);
    assert.equal(d.classNames[0], '0');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a batch over the max message size is refused with RESOURCE_EXHAUSTED; the server keeps serving', async () => {
  const small = await startLoaderServer({ maxMessageBytes: 64 * 1024 });
  const c = dataLoaderClient(small.server.address);
  try {
    let caught: unknown;
    try {
      for await (const _ of streamBatches(c, req({ globalBatchSize: 128 }), { retries: 0 })) break;
    } catch (err) {
      caught = err;
    }
    assert.ok(isServiceError(caught));
    assert.equal(caught.code, GrpcStatus.RESOURCE_EXHAUSTED);
    assert.match(
      caught.details,
      /^global_batch_size: .* over the data-loader's max message size of 65536 bytes/,
    );
    const ok = await collect(req({ globalBatchSize: 60, endStep: 3 }), c);
    assert.equal(ok.length, 3);
  } finally {
    c.close();
    await small.shutdown(500);
  }
});

/** Opens a raw stream, reads `n` messages, then pauses it. */
function openPaused(
  r: StreamBatchesRequest,
  n: number,
): Promise<{
  call: ReturnType<DataLoaderServiceClient['streamBatches']>;
  got: StreamBatchesResponse__Output[];
}> {
  return new Promise((resolve, reject) => {
    const call = client.streamBatches(r);
    const got: StreamBatchesResponse__Output[] = [];
    call.on('error', () => {});
    call.on('data', (m: StreamBatchesResponse__Output) => {
      got.push(m);
      if (got.length === n) {
        call.pause();
        resolve({ call, got });
      }
    });
    call.once('end', () => reject(new Error('stream ended early')));
  });
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('flow control: a consumer that stops reading stops the producer; cancelling frees the stream', async () => {
  const r = req({ jobId: 'slow', globalBatchSize: 128 });
  const before = batchesSent;
  const { call } = await openPaused(r, 1);
  assert.equal(loader.service.openStreams('slow'), 1);
  await sleep(400);
  const produced = batchesSent - before;
  assert.ok(
    produced < 200,
    `producer must wait for the consumer: ${produced} of 469 batches produced while paused`,
  );
  await sleep(200);
  assert.equal(batchesSent - before, produced, 'nothing more is produced while the consumer is paused');
  call.cancel();
  await until(() => loader.service.openStreams() === 0, 'open streams to drop to 0 after cancel');
});

test('ReleaseJob cancels the job’s open streams (ABORTED) and leaves other jobs alone', async () => {
  const a = await openPaused(req({ jobId: 'rel' }), 1);
  const b = await openPaused(req({ jobId: 'rel', rank: 1, worldSize: 2 }), 1);
  const other = await openPaused(req({ jobId: 'keep' }), 1);
  const statusOf = (call: typeof a.call) =>
    new Promise<number>((resolve) => call.on('status', (s: { code: number }) => resolve(s.code)));
  const sa = statusOf(a.call);
  const sb = statusOf(b.call);
  assert.equal(loader.service.openStreams('rel'), 2);
  const res = await unary(client, client.releaseJob, { jobId: 'rel' });
  assert.equal(res.cancelledStreams, 2);
  a.call.resume();
  b.call.resume();
  assert.equal(await sa, GrpcStatus.ABORTED);
  assert.equal(await sb, GrpcStatus.ABORTED);
  assert.equal(loader.service.openStreams('rel'), 0);
  assert.equal(loader.service.openStreams('keep'), 1);
  assert.equal((await unary(client, client.releaseJob, { jobId: 'rel' })).cancelledStreams, 0, 'idempotent');
  other.call.cancel();
  await until(() => loader.service.openStreams() === 0, 'open streams to drop to 0');
});

test('client batch stream: breaking out cancels the call; it resumes after a server restart on the same port', async () => {
  for await (const b of streamBatches(client, req({ jobId: 'brk', globalBatchSize: 128 }))) {
    if (b.step === 2) break;
  }
  await until(() => loader.service.openStreams('brk') === 0, 'the broken-out stream to close');

  const reference = await collect(req({ globalBatchSize: 500 }));
  let server = await startLoaderServer();
  const port = server.server.port;
  const c = dataLoaderClient(server.server.address);
  const got: DataBatch[] = [];
  const stream = streamBatches(c, req({ globalBatchSize: 500 }), { prefetch: 2, backoffMs: 50, retries: 10 });
  try {
    for await (const b of stream) {
      got.push(b);
      if (got.length === 10) {
        await server.shutdown(200); // open streams end with UNAVAILABLE
        server = await startLoaderServer({ address: `127.0.0.1:${port}` });
      }
    }
  } finally {
    c.close();
    await server.shutdown(200);
  }
  assert.ok(stream.reconnects >= 1, 'reconnected at least once');
  assert.deepEqual(
    got.map((b) => b.step),
    reference.map((b) => b.step),
  );
  for (let s = 0; s < got.length; s++) assert.deepEqual(got[s]!.indices, reference[s]!.indices);
});

test('main.ts: prints its port as a JSON line, serves, and exits 0 on SIGTERM', async () => {
  const main = fileURLToPath(new URL('../../services/data-loader/src/main.ts', import.meta.url));
  const token = 'loader-main-token';
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DISTRAIN_AUTH_TOKEN: token },
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`data-loader exited early with ${code}`)));
      createInterface({ input: child.stdout }).once('line', resolve);
    });
    const ready = JSON.parse(line) as { event: string; port: number };
    assert.equal(ready.event, 'listening');
    assert.ok(ready.port > 0);
    const c = dataLoaderClient(`127.0.0.1:${ready.port}`, {}, { token });
    try {
      const d = await unary(c, c.describeDataset, { dataset: { name: 'mnist' } }, { timeoutMs: 20_000 });
      assert.equal(d.trainCount, 8000);
      assert.equal(d.testCount, 1756);
    } finally {
      c.close();
    }
    child.removeAllListeners('exit');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
