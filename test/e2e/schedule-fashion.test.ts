/**
 * Learning-rate schedule + warmup + clipping end to end on Fashion-MNIST: the shipped MLP with a
 * cosine schedule, 200 warmup updates and clipping by global norm converges at least as well as the
 * same job with a constant rate and no clipping; step events carry the scheduled learning rate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJobText } from '@distrain/core';
import { ROOT, assertOwnSteps, runCli } from '../support/cli.ts';

const EPOCHS = 2;
const dir = mkdtempSync(join(tmpdir(), 'distrain-schedule-'));

function specFile(name: string, optimizer: Record<string, unknown>): string {
  const doc = parseJobText(readFileSync(join(ROOT, 'examples/fashion-mnist-mlp.yaml'), 'utf8')) as {
    metadata: { name: string };
    spec: { optimizer: Record<string, unknown>; epochs: number };
  };
  doc.metadata.name = name;
  doc.spec.optimizer = optimizer;
  doc.spec.epochs = EPOCHS;
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

async function run(file: string): Promise<{ accuracy: number[]; rates: number[] }> {
  // -v: the one trainer applies every step itself, clipping included (its norm summed in plan order).
  const res = await runCli(['run', file, '--trainers', '1', '--backend', 'wasm', '--json', '-v'], {
    timeoutMs: 500_000,
  });
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  assertOwnSteps(res.stderr);
  const summary = res.json.at(-1) as { epochs: { testAccuracy: number }[] };
  const rates = res.json.filter((j) => j['type'] === 'step').map((j) => Number(j['learningRate']));
  return { accuracy: summary.epochs.map((e) => e.testAccuracy), rates };
}

test(
  'cosine + warmup + clipping converges at least as well as a constant rate',
  { timeout: 1_200_000 },
  async () => {
    const plain = await run(specFile('fmnist-constant', { type: 'adam', learningRate: 0.001 }));
    const scheduled = await run(
      specFile('fmnist-cosine', {
        type: 'adam',
        learningRate: 0.002,
        clipNorm: 5,
        schedule: { type: 'cosine', warmupSteps: 200 },
      }),
    );
    process.stderr.write(
      `schedule e2e: constant ${plain.accuracy.join(', ')} | cosine+warmup+clip ${scheduled.accuracy.join(', ')}\n`,
    );
    assert.equal(scheduled.accuracy.length, EPOCHS);
    const final = (a: number[]): number => a.at(-1) as number;
    assert.ok(final(scheduled.accuracy) >= final(plain.accuracy) - 0.005, 'scheduled run converges as well');
    assert.ok(final(scheduled.accuracy) > 0.85);
    // Step events carry the learning rate: rising in warmup, then decaying towards 0.
    assert.ok(
      plain.rates.every((r) => Math.abs(r - 0.001) < 1e-12),
      `constant: ${plain.rates.slice(0, 5).join(',')}`,
    );
    const r = scheduled.rates;
    assert.ok(r.length > 4);
    assert.ok(Math.max(...r) <= 0.002 + 1e-12 && Math.min(...r) > 0);
    assert.ok((r.at(-1) as number) < 0.0002, `last rate ${r.at(-1)}`);
  },
);
