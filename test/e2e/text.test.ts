/**
 * Text through the whole distributed path on the real fortunes corpus (Debian packages): the LSTM
 * language-identification example with 2 trainers, its predictions (dataset order, with the text)
 * and export (vocab.json, GloVe embeddings with a zero <pad> row), a job seeded from those vectors
 * (and one rejected for a dimension mismatch), and 1 vs 2 trainers vs the in-process loop.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { jobClient, parseJobText, unary, validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { selectBackend, trainReference } from '@distrain/core/model';
import type { TrainingJob } from '@distrain/core';
import type { DatasetSpecInput } from '@distrain/core/datasets';
import { ROOT, runCli, startUp } from '../support/cli.ts';
import type { UpStack } from '../support/cli.ts';

let stack: UpStack;
const dir = mkdtempSync(join(tmpdir(), 'distrain-text-e2e-'));
const read = (name: string): TrainingJob =>
  validateJob(parseJobText(readFileSync(join(ROOT, 'examples', name), 'utf8')));
const lstm = read('fortunes-language-lstm.yaml');
const bag = read('fortunes-language-bag.yaml');

before(async () => {
  stack = await startUp();
});
after(async () => {
  await stack?.stop();
});

let jobId = '';
let finalAccuracy = 0;

test(
  'the LSTM language-ID example with 2 trainers reaches >= 0.95 test accuracy',
  { timeout: 600_000 },
  async () => {
    const file = join(dir, 'lstm.json');
    writeFileSync(file, JSON.stringify(lstm));
    const res = await runCli(['submit', file, '--watch', '--json', '--coordinator', stack.coordinator], {
      timeoutMs: 890_000,
    });
    assert.equal(res.code, 0, res.stderr.slice(-3000));
    const summary = res.json.at(-1) as {
      jobId: string;
      state: string;
      finalTestAccuracy: number;
      trainers: number;
    };
    assert.equal(summary.state, 'Succeeded');
    assert.equal(summary.trainers, 2);
    const data = await loadDataset(lstm.spec.dataset as DatasetSpecInput);
    const perClass = new Map<number, number>();
    for (const l of data.test.labels) perClass.set(l, (perClass.get(l) ?? 0) + 1);
    const majority = Math.max(...perClass.values()) / data.test.count;
    process.stderr.write(
      `text: LSTM 2 trainers test accuracy ${summary.finalTestAccuracy} (majority baseline ${majority.toFixed(4)})\n`,
    );
    assert.ok(summary.finalTestAccuracy >= 0.95, `accuracy ${summary.finalTestAccuracy}`);
    jobId = summary.jobId;
    finalAccuracy = summary.finalTestAccuracy;
  },
);

test("predictions come in dataset order with each text's first characters", async () => {
  const file = join(dir, 'pred.csv');
  const res = await runCli(['predictions', jobId, '-o', file, '--coordinator', stack.coordinator]);
  assert.equal(res.code, 0, res.stderr);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(
    lines[0],
    `index,label,predicted,${Array.from({ length: 9 }, (_, c) => `p${c}`).join(',')},text`,
  );
  const data = await loadDataset(lstm.spec.dataset as DatasetSpecInput);
  assert.equal(lines.length - 1, data.test.count);
  let correct = 0;
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(',');
    assert.equal(Number(cells[0]), i, 'rows are in dataset order');
    assert.equal(Number(cells[1]), data.test.labels[i]);
    if (cells[1] === cells[2]) correct++;
    const text = line.slice(line.indexOf(',"') + 2, -1).replace(/""/g, '"');
    const want = (data.test.texts?.[i] ?? '').slice(0, 80).replace(/\r?\n/g, ' ');
    assert.equal(text, want, `row ${i} carries its own text`);
  });
  assert.ok(Math.abs(correct / data.test.count - finalAccuracy) < 1e-4);
});

let glove = '';

test('export writes vocab.json (the training vocabulary) and the embeddings as GloVe text, <pad> row zero', async () => {
  const out = join(dir, 'model');
  const res = await runCli(['export', jobId, out, '--coordinator', stack.coordinator]);
  assert.equal(res.code, 0, res.stderr);
  const vocab = JSON.parse(readFileSync(join(out, 'vocab.json'), 'utf8')) as string[];
  const data = await loadDataset(lstm.spec.dataset as DatasetSpecInput);
  assert.deepEqual(vocab, data.text?.vocabulary);
  assert.deepEqual(vocab.slice(0, 2), ['<pad>', '<unk>']);
  glove = join(out, 'embeddings.glove.txt');
  const rows = readFileSync(glove, 'utf8').trim().split('\n');
  assert.equal(rows.length, vocab.length);
  const pad = rows[0]?.split(' ') ?? [];
  assert.equal(pad[0], '<pad>');
  assert.equal(pad.length, 33);
  assert.ok(
    pad.slice(1).every((v) => Number(v) === 0),
    `<pad> row after training: ${pad.slice(1, 6).join(' ')}`,
  );
  assert.ok(
    rows[2]
      ?.split(' ')
      .slice(1)
      .some((v) => Number(v) !== 0),
    'a real token has a trained vector',
  );
});

test(
  'pretrained vectors: a dimension mismatch is rejected at submit naming the field; matching ones seed a job',
  { timeout: 300_000 },
  async () => {
    const client = jobClient(stack.coordinator);
    const withPretrained = (outputDim: number, epochs: number): string => {
      const job = structuredClone(bag) as TrainingJob;
      job.spec.epochs = epochs;
      job.spec.model.layers[0] = {
        type: 'embedding',
        outputDim,
        maskZero: true,
        pretrained: { path: glove, trainable: true },
      };
      return JSON.stringify(job);
    };
    const err = await unary(
      client,
      client.submitJob,
      { spec: withPretrained(16, 1) },
      { timeoutMs: 60_000 },
    ).then(
      () => null,
      (e: unknown) => e as ServiceError,
    );
    assert.ok(err, 'a 32-dimensional file for a 16-dimensional embedding must be rejected');
    assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(
      err.details,
      /spec\.model\.layers\[0\]\.pretrained\.path: .*32-dimensional vector but the embedding's outputDim is 16/,
    );
    const file = join(dir, 'seeded.json');
    writeFileSync(file, withPretrained(32, 1));
    const res = await runCli(['submit', file, '--watch', '--json', '--coordinator', stack.coordinator], {
      timeoutMs: 280_000,
    });
    assert.equal(res.code, 0, res.stderr.slice(-3000));
    const summary = res.json.at(-1) as { finalTestAccuracy: number };
    process.stderr.write(
      `text: bag-of-embeddings seeded from the LSTM job's vectors, 1 epoch: ${summary.finalTestAccuracy}\n`,
    );
    assert.ok(summary.finalTestAccuracy >= 0.9, `seeded accuracy ${summary.finalTestAccuracy}`);
  },
);

test(
  '1 trainer, 2 trainers and the in-process loop agree (bag of embeddings, no dropout, same seed)',
  { timeout: 600_000 },
  async () => {
    const job = structuredClone(bag) as TrainingJob;
    job.spec.epochs = 1;
    const file = join(dir, 'bag.json');
    writeFileSync(file, JSON.stringify(job));
    const run = async (trainers: number): Promise<number> => {
      const res = await runCli(['run', file, '--trainers', String(trainers), '--backend', 'wasm', '--json'], {
        timeoutMs: 280_000,
      });
      assert.equal(res.code, 0, res.stderr.slice(-3000));
      return (res.json.at(-1) as { finalTestAccuracy: number }).finalTestAccuracy;
    };
    const one = await run(1);
    const two = await run(2);
    await selectBackend('wasm');
    const data = await loadDataset(job.spec.dataset as DatasetSpecInput);
    const layers = [
      { ...job.spec.model.layers[0], inputDim: data.text?.vocabulary.length },
      ...job.spec.model.layers.slice(1),
    ];
    const reference = await trainReference({
      layers: layers as TrainingJob['spec']['model']['layers'],
      loss: job.spec.loss,
      optimizer: job.spec.optimizer,
      batchSize: job.spec.batchSize,
      epochs: 1,
      seed: job.spec.seed,
      train: data.train,
      test: data.test,
      featureShape: data.featureShape,
      featureScale: data.featureScale,
      numClasses: data.numClasses,
    });
    const ref = reference.epochs[0]?.testAccuracy ?? 0;
    process.stderr.write(`text parity: 1 trainer ${one}, 2 trainers ${two}, in-process loop ${ref}\n`);
    assert.ok(Math.abs(one - two) <= 0.005, `1 vs 2 trainers: ${one} vs ${two}`);
    assert.ok(Math.abs(one - ref) <= 0.01, `1 trainer vs reference: ${one} vs ${ref}`);
    assert.ok(ref > 0.9, `reference accuracy ${ref}`);
  },
);
