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
import { ROOT, runCli } from '../support/cli.ts';

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
  const res = await runCli(['run', spec, '--backend', 'wasm', '--json'], { timeoutMs: 240_000 });
  assert.equal(res.code, 0, res.stderr.slice(-3000));
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
