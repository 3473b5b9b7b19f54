/**
 * Parity: with the same seed and global batch, 1 trainer and 2 trainers through the distributed path
 * reach the same epoch-1 test accuracy (within 0.5 points), and both are within 1 point of a plain
 * single-process tfjs training loop on the same data, model, initial weights and optimizer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJobText, validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { selectBackend, trainReference } from '@distrain/core/model';
import { ROOT, assertOwnSteps, runCli } from '../support/cli.ts';

// The shipped MLP without its dropout layer, so the three runs differ only in summation order.
const doc = parseJobText(readFileSync(join(ROOT, 'examples/fashion-mnist-mlp.yaml'), 'utf8')) as {
  spec: { model: { layers: { type: string }[] }; epochs: number };
};
doc.spec.model.layers = doc.spec.model.layers.filter((l) => l.type !== 'dropout');
doc.spec.epochs = 1;
const job = validateJob(doc);
const dir = mkdtempSync(join(tmpdir(), 'distrain-parity-'));
const specFile = join(dir, 'mlp-no-dropout.json');
writeFileSync(specFile, JSON.stringify(job));

async function distributed(trainers: number): Promise<number> {
  // One trainer applies its own steps (services/trainer/src/own-step.ts): -v shows it did, every step.
  const verbose = trainers === 1 ? ['-v'] : [];
  const res = await runCli(
    ['run', specFile, '--trainers', String(trainers), '--backend', 'wasm', '--json', ...verbose],
    {
      timeoutMs: 400_000,
    },
  );
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  if (trainers === 1) assertOwnSteps(res.stderr);
  const summary = res.json.at(-1) as { finalTestAccuracy: number; trainers: number };
  assert.equal(summary.trainers, trainers);
  return summary.finalTestAccuracy;
}

test(
  '1 trainer, 2 trainers and an in-process tfjs loop agree on epoch-1 accuracy',
  { timeout: 900_000 },
  async () => {
    const one = await distributed(1);
    const two = await distributed(2);
    await selectBackend('wasm');
    const data = await loadDataset({ name: 'fashion-mnist' });
    const reference = await trainReference({
      layers: [...job.spec.model.layers],
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
    process.stderr.write(`parity: 1 trainer ${one}, 2 trainers ${two}, in-process loop ${ref}\n`);
    assert.ok(Math.abs(one - two) <= 0.005, `1 vs 2 trainers: ${one} vs ${two}`);
    assert.ok(Math.abs(one - ref) <= 0.01, `1 trainer vs reference: ${one} vs ${ref}`);
    assert.ok(Math.abs(two - ref) <= 0.01, `2 trainers vs reference: ${two} vs ${ref}`);
    assert.ok(ref > 0.8, `reference accuracy ${ref}`);
  },
);
