/**
 * The acceptance runs of the training issue, as a user types them: `distrain run` of the shipped
 * Fashion-MNIST MLP example with 2 and 1 trainers, through the real distributed path (data-loader,
 * parameter server, coordinator, trainers and evaluator as local processes, gRPC on loopback).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../support/cli.ts';

interface Summary {
  jobId: string;
  state: string;
  epochs: { epoch: number; testAccuracy: number; testLoss: number; seconds: number }[];
  finalTestAccuracy: number;
  samplesPerSecond: number;
  trainers: number;
  backend: string;
}

for (const trainers of [2, 1]) {
  test(
    `distrain run fashion-mnist-mlp --trainers ${trainers} --epochs 3 reaches >= 85% test accuracy`,
    { timeout: 600_000 },
    async () => {
      const res = await runCli([
        'run',
        'examples/fashion-mnist-mlp.yaml',
        '--trainers',
        String(trainers),
        '--epochs',
        '3',
        '--json',
      ]);
      assert.equal(res.code, 0, `exit code ${res.code}\n${res.stderr.slice(-4000)}`);
      const summary = res.json.at(-1) as unknown as Summary;
      assert.equal(summary.state, 'Succeeded');
      assert.equal(summary.trainers, trainers);
      assert.equal(summary.epochs.length, 3);
      assert.deepEqual(
        summary.epochs.map((e) => e.epoch),
        [1, 2, 3],
      );
      assert.ok(summary.finalTestAccuracy >= 0.85, `final test accuracy ${summary.finalTestAccuracy}`);
      assert.ok(summary.samplesPerSecond > 0);
      // Every line before the summary is one event; state, step and epoch events all appear.
      const types = new Set(res.json.slice(0, -1).map((e) => e['type']));
      for (const t of ['state', 'step', 'epoch']) assert.ok(types.has(t), `no ${t} event in --json output`);
      process.stderr.write(
        `trainers=${trainers} accuracy=${summary.finalTestAccuracy} samples/s=${summary.samplesPerSecond} backend=${summary.backend} epochs=${JSON.stringify(summary.epochs)}\n`,
      );
    },
  );
}
