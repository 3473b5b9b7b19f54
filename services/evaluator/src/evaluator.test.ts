import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { silentLogger } from '@distrain/core';
import { EpochEvaluation, pullSnapshot } from './evaluator.ts';

void test('regression epochs report MSE as test loss and the mean absolute error; accuracy is 0', () => {
  const e = new EpochEvaluation(0);
  // Per-sample MSE losses (1 output): (1.5-1)^2 = 0.25, (2-4)^2 = 4.
  e.add(Uint32Array.from([3, 7]), Float32Array.from([1, 4]), {
    lossSum: 4.25,
    predicted: new Int32Array(2),
    probabilities: Float32Array.from([1.5, 2]),
  });
  const r = e.result(1, 10, 0.1);
  assert.equal(r.regression, true);
  assert.equal(r.testLoss, 2.125);
  assert.equal(r.testMae, 1.25);
  assert.equal(r.testAccuracy, 0);
  assert.equal(e.csv().toString(), 'index,target,prediction\n3,1,1.5\n7,4,2\n');
});

void test('classification epochs are unchanged: accuracy, confusion, no MAE', () => {
  const e = new EpochEvaluation(2);
  e.add(Uint32Array.from([0, 1]), Int32Array.from([0, 1]), {
    lossSum: 1,
    predicted: Int32Array.from([0, 0]),
    probabilities: Float32Array.from([0.9, 0.1, 0.6, 0.4]),
  });
  const r = e.result(1, 1, 0);
  assert.equal(r.regression, false);
  assert.equal(r.testAccuracy, 0.5);
  assert.equal(r.testMae, 0);
  assert.deepEqual(r.confusion, [1, 0, 1, 0]);
});

const grpcError = (code: number, details: string): Error =>
  Object.assign(new Error(`${code} ${details}`), { code, details, metadata: undefined });

void test('pullSnapshot: a shard restarting (unknown job, unavailable) is waited out; the epoch is then served', async () => {
  const answers: (Error | { version: number })[] = [
    grpcError(GrpcStatus.UNAVAILABLE, 'connection refused'),
    grpcError(GrpcStatus.NOT_FOUND, 'unknown job j on this shard (not initialized, or ended)'),
    grpcError(GrpcStatus.ABORTED, 'job j rolled back to version 20; retry from there'),
    { version: 40 },
  ];
  const epochs: number[] = [];
  const ps = {
    pull: (o: { epoch?: number } = {}) => {
      epochs.push(o.epoch ?? 0);
      const next = answers.shift() as Error | { version: number };
      return next instanceof Error
        ? Promise.reject(next)
        : Promise.resolve({
            version: next.version,
            params: new Map<string, Float32Array>(),
            snapshotTimeMs: 0,
          });
    },
  };
  const got = await pullSnapshot(ps, 2, new AbortController().signal, silentLogger(), 10_000);
  assert.equal(got?.version, 40);
  assert.deepEqual(epochs, [2, 2, 2, 2]);
});

void test('pullSnapshot: an epoch whose snapshot and checkpoint are gone fails with the reason, never skipped', async () => {
  const ps = {
    pull: () =>
      Promise.reject(
        grpcError(
          GrpcStatus.NOT_FOUND,
          'snapshot of epoch 3 of job j was released or dropped and no epoch checkpoint holds it',
        ),
      ),
  };
  await assert.rejects(pullSnapshot(ps, 3, new AbortController().signal, silentLogger()), {
    name: 'EpochUnavailableError',
    message: /cannot evaluate epoch 3: snapshot of epoch 3 .* no epoch checkpoint holds it/,
  });
  // A shard that stays down past the outage bound fails it too (not Running forever).
  const down = { pull: () => Promise.reject(grpcError(GrpcStatus.UNAVAILABLE, 'connection refused')) };
  await assert.rejects(pullSnapshot(down, 1, new AbortController().signal, silentLogger(), 300), {
    name: 'EpochUnavailableError',
    message: /cannot evaluate epoch 1: the parameter server did not serve it/,
  });
});
