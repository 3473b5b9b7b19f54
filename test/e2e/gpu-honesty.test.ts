/**
 * GPU honesty: a job asking for GPUs on trainers that cannot load the native GPU backend fails at
 * start with the reason (no silent WebAssembly fallback, no pointless restarts); the same job with
 * `backend: wasm` runs on the CPU as asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'distrain-gpu-'));

function spec(backend: string): string {
  const file = join(dir, `gpu-${backend}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'distrain.io/v1',
      kind: 'TrainingJob',
      metadata: { name: `gpu-${backend}` },
      spec: {
        dataset: { name: 'mnist', sampleCount: 200 },
        model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] },
        loss: 'softmaxCrossEntropy',
        optimizer: { type: 'sgd', learningRate: 0.1 },
        batchSize: 32,
        epochs: 1,
        trainers: { replicas: 1, gpus: 1, backend },
        fault: { maxRestarts: 2 },
      },
    }),
  );
  return file;
}

function gpuPackageInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

test(
  'gpus: 1 without a GPU backend fails at start with the reason; backend wasm runs',
  { timeout: 300_000 },
  async () => {
    assert.equal(
      gpuPackageInstalled(),
      false,
      'this test expects a machine without @tensorflow/tfjs-node-gpu',
    );
    const failed = await runCli(['run', spec('auto'), '--json'], { timeoutMs: 120_000 });
    assert.notEqual(failed.code, 0);
    const summary = failed.json.at(-1) as { state: string };
    assert.equal(summary.state, 'Failed');
    const text = failed.stdout + failed.stderr;
    assert.match(text, /cannot start: .*spec\.trainers\.gpus is 1 but the native GPU backend does not load/);
    assert.doesNotMatch(text, /restart 1 of/, 'a configuration failure is not restarted');
    const ran = await runCli(['run', spec('wasm'), '--json'], { timeoutMs: 120_000 });
    assert.equal(ran.code, 0, ran.stderr.slice(-2000));
    assert.equal((ran.json.at(-1) as { state: string; backend: string }).backend, 'wasm');
  },
);
