import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { BackendError, selectBackend } from './backend.ts';

function gpuPackageInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

void test('a job asking for GPUs never falls back to the CPU unless the backend says so', async () => {
  if (gpuPackageInstalled()) {
    // A GPU image: auto picks the native GPU backend.
    assert.equal((await selectBackend('auto', { gpus: 1 })).backend, 'tensorflow');
    return;
  }
  for (const name of ['auto', 'tensorflow'] as const) {
    await assert.rejects(
      selectBackend(name, { gpus: 2 }),
      (err: unknown) =>
        err instanceof BackendError &&
        /spec\.trainers\.gpus is 2/.test(err.message) &&
        /@tensorflow\/tfjs-node-gpu/.test(err.message) &&
        /spec\.trainers\.backend to wasm or cpu/.test(err.message),
    );
  }
  // Explicitly CPU: runs where asked.
  assert.equal((await selectBackend('wasm', { gpus: 2 })).backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal((await selectBackend('cpu', { gpus: 2 })).backend, 'cpu');
  // Without GPUs, auto still falls back (to wasm here) and says why.
  const auto = await selectBackend('auto');
  assert.notEqual(auto.backend, 'tensorflow');
  assert.match(auto.reason, /tensorflow unavailable/);
});
