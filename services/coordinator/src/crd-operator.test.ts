import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusOf } from './crd-operator.ts';

const job = (over: Record<string, unknown>): never =>
  ({
    id: 'digits-1a2b3c',
    state: 'JOB_STATE_RUNNING',
    reason: '',
    trainers: 2,
    startedAtMs: 1_700_000_000_000,
    finishedAtMs: 0,
    epochs: [],
    ...over,
  }) as never;

test('a running job: Created and Running true, no completion, no accuracy before the first epoch', () => {
  const s = statusOf(job({}), 3, new Map());
  assert.equal(s.state, 'Running');
  assert.equal(s.observedGeneration, 3);
  assert.equal(s.epoch, undefined);
  assert.equal(s.completionTime, undefined);
  assert.deepEqual(
    s.conditions?.map((c) => [c.type, c.status, c.reason]),
    [
      ['Created', 'True', 'JobCreated'],
      ['Running', 'True', 'JobRunning'],
    ],
  );
});

test('a failed job: the reason in status and in the Failed condition; epoch and accuracy of the last epoch', () => {
  const since = new Map<string, string>();
  const first = statusOf(job({}), 1, since);
  const s = statusOf(
    job({
      state: 'JOB_STATE_FAILED',
      reason: 'trainer rank 1 failed 3 times',
      finishedAtMs: 1_700_000_060_000,
      epochs: [{ epoch: 1, testAccuracy: 0.912345, testLoss: 0.3, trainSeconds: 9 }],
    }),
    1,
    since,
  );
  assert.equal(s.state, 'Failed');
  assert.equal(s.reason, 'trainer rank 1 failed 3 times');
  assert.equal(s.epoch, 1);
  assert.equal(s.accuracy, 0.9123);
  assert.equal(s.completionTime, new Date(1_700_000_060_000).toISOString());
  const failed = s.conditions?.find((c) => c.type === 'Failed');
  assert.deepEqual(
    [failed?.status, failed?.reason, failed?.message],
    ['True', 'JobFailed', 'trainer rank 1 failed 3 times'],
  );
  assert.equal(s.conditions?.find((c) => c.type === 'Running')?.status, 'False');
  // A condition keeps its transition time while its status holds.
  assert.equal(s.conditions?.[0]?.lastTransitionTime, first.conditions?.[0]?.lastTransitionTime);
});
