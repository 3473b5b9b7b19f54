/**
 * A regression CSV (float targets) trains end to end with the shipped example: one output unit,
 * meanSquaredError, and the summary reports MSE and MAE instead of accuracy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJobText } from '@distrain/core';
import { ROOT, assertOwnSteps, runCli } from '../support/cli.ts';

test('the csv-regression example trains and reports MSE and MAE', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distrain-regression-'));
  const csv = join(dir, 'regression.csv');
  execFileSync(process.execPath, [join(ROOT, 'examples/make-regression-csv.mjs'), csv]);
  const doc = parseJobText(readFileSync(join(ROOT, 'examples/csv-regression.yaml'), 'utf8')) as {
    spec: { dataset: { path: string }; epochs: number };
  };
  doc.spec.dataset.path = csv;
  doc.spec.epochs = 4;
  const spec = join(dir, 'job.json');
  writeFileSync(spec, JSON.stringify(doc));
  const res = await runCli(['run', spec, '--backend', 'wasm', '--json', '-v'], { timeoutMs: 240_000 });
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  // -v: the trainer's step breakdown for the whole run, as medians and as means that add up. The
  // job's only trainer applies its own steps, which its line says.
  assertOwnSteps(res.stderr);
  const medianLine =
    /trainer 0 \(whole run, \d+ steps applied by the trainer\): step ([\d.]+) ms \(median of (\d+)\) = data wait [\d.]+ \| compute ([\d.]+) \|/.exec(
      res.stderr,
    );
  assert.ok(medianLine, `no median breakdown line in:\n${res.stderr.slice(-3000)}`);
  assert.ok(Number(medianLine[2]) > 0 && Number(medianLine[3]) > 0, medianLine[0]);
  const meanLine =
    /trainer 0 \(whole run, \d+ steps applied by the trainer\): mean step ([\d.]+) ms \((\d+) steps\) = (.+)$/m.exec(
      res.stderr,
    );
  assert.ok(meanLine, `no mean breakdown line in:\n${res.stderr.slice(-3000)}`);
  assert.equal(meanLine[2], medianLine[2], 'both over the same steps');
  const parts = (meanLine[3] as string).split(' + ').map((p) => Number(/([\d.]+)$/.exec(p)?.[1]));
  assert.equal(parts.length, 9, `8 phases and other: ${meanLine[3]}`);
  const sum = parts.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - Number(meanLine[1])) < 0.1, `the means add up to the mean step: ${meanLine[0]}`);
  const summary = res.json.at(-1) as {
    state: string;
    finalTestAccuracy: number | null;
    finalTestMse: number;
    finalTestMae: number;
    epochs: { testMse: number; testMae: number }[];
  };
  assert.equal(summary.state, 'Succeeded');
  assert.equal(summary.finalTestAccuracy, null);
  process.stderr.write(`regression: ${JSON.stringify(summary.epochs)}\n`);
  // The targets' variance is about 1.7: the model must do far better than predicting the mean.
  assert.ok(summary.finalTestMse < 0.05, `MSE ${summary.finalTestMse}`);
  assert.ok(summary.finalTestMae > 0 && summary.finalTestMae < 0.2, `MAE ${summary.finalTestMae}`);
  assert.ok(summary.finalTestMse < (summary.epochs[0]?.testMse ?? 0), 'MSE falls over the epochs');
  const epochEvents = res.json.filter((j) => j['type'] === 'epoch');
  assert.equal(epochEvents.length, 4);
});
