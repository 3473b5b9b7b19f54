import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStates, NotFoundError, ValidationError } from '@distrain/core';
import type { EvaluationResult } from '@distrain/core';
import { PROGRESS_SAVE_INTERVAL_MS } from './book.ts';
import { beat, fakeCoordinator, jobDoc, settle, statesOf, idOf } from './test-fakes.ts';

async function running(spec: Record<string, unknown> = {}) {
  const c = fakeCoordinator();
  const id = idOf(await c.manager.submit(jobDoc(spec)));
  await settle();
  return { ...c, id };
}

const result = (epoch: number): EvaluationResult => ({
  epoch,
  testAccuracy: 0.9,
  testLoss: 0.3,
  numSamples: 100,
});

test('trainer heartbeats set the job progress, summed throughput and epoch end times', async () => {
  const c = await running();
  c.manager.heartbeat(beat(c.id, 'trainer', 0, { globalStep: 4, samplesPerSecond: 100 }));
  c.manager.heartbeat(beat(c.id, 'trainer', 1, { globalStep: 5, samplesPerSecond: 150 }));
  const job = c.manager.toWire(c.manager.get(c.id));
  assert.equal(job.progress?.globalStep, 5);
  assert.equal(job.progress?.samplesPerSecond, 250);
  assert.equal(job.progress?.totalSteps, 10);
  await c.clock.advance(3_000);
  c.manager.heartbeat(beat(c.id, 'trainer', 0, { globalStep: 10 }));
  const after = c.manager.toWire(c.manager.get(c.id));
  assert.equal(after.trainSeconds, 3, 'first step to the end of epoch 1');
  assert.equal(after.trainSamples, 640);
  // An older step from a lagging rank does not move progress back.
  c.manager.heartbeat(beat(c.id, 'trainer', 1, { globalStep: 7 }));
  assert.equal(c.manager.get(c.id).progress.globalStep, 10);
});

test('training time starts when the last trainer is ready, not the first', async () => {
  const c = await running();
  // Trainer 0 is ready (its first beat, no progress yet) 2 s before trainer 1; the first step
  // cannot be applied before trainer 1 pushes, so those 2 s are start-up.
  c.manager.heartbeat(beat(c.id, 'trainer', 0));
  await c.clock.advance(1_000);
  c.manager.heartbeat(beat(c.id, 'trainer', 0, { globalStep: 0 }));
  assert.equal(c.manager.get(c.id).trainStartMs, 0, 'nothing trained yet');
  await c.clock.advance(1_000);
  const lastReady = c.clock.now();
  c.manager.heartbeat(beat(c.id, 'trainer', 1));
  await c.clock.advance(500);
  c.manager.heartbeat(beat(c.id, 'trainer', 0, { globalStep: 1 }));
  assert.equal(c.manager.get(c.id).trainStartMs, lastReady);
  await c.clock.advance(2_500);
  c.manager.heartbeat(beat(c.id, 'trainer', 1, { globalStep: 10 }));
  assert.equal(c.manager.toWire(c.manager.get(c.id)).trainSeconds, 3, "from trainer 1's first beat");
});

test('step events are at most one per trainer per 250 ms; progress is saved within 2 s', async () => {
  const c = await running();
  const saves = c.store.saves;
  for (let step = 1; step <= 5; step++) {
    c.manager.heartbeat(beat(c.id, 'trainer', 0, { globalStep: step }));
    await c.clock.advance(100);
  }
  const steps = c.published.filter((e) => e.event === 'step').map((e) => e.step?.progress?.globalStep);
  assert.deepEqual(steps, [1, 4]);
  assert.equal(c.store.saves, saves, 'not saved at every beat');
  await c.clock.advance(PROGRESS_SAVE_INTERVAL_MS);
  assert.equal(c.store.saves, saves + 1);
  assert.equal((c.store.records.get(c.id) as { progress: { globalStep: number } }).progress.globalStep, 5);
});

test('heartbeats: done from every worker succeeds the job; unknown ranks and jobs are errors', async () => {
  const c = await running();
  assert.throws(() => c.manager.heartbeat(beat(c.id, 'trainer', 7)), ValidationError);
  assert.throws(() => c.manager.heartbeat(beat('nope', 'trainer', 0)), NotFoundError);
  c.manager.heartbeat(beat(c.id, 'trainer', 0, { status: 'done' }));
  c.manager.heartbeat(beat(c.id, 'trainer', 1, { status: 'failed' }));
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.running);
  c.manager.heartbeat(beat(c.id, 'trainer', 1, { status: 'done' }));
  await settle();
  assert.deepEqual(statesOf(c.published, c.id), [JobStates.pending, JobStates.running, JobStates.succeeded]);
});

test('with evaluation, the job succeeds only once every epoch is evaluated; a retried report is ignored', async () => {
  const c = await running({ evaluation: { enabled: true }, epochs: 2 });
  for (const [role, rank] of [
    ['trainer', 0],
    ['trainer', 1],
    ['evaluator', 0],
  ] as const)
    c.manager.heartbeat(beat(c.id, role, rank, { status: 'done' }));
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.running);
  await assert.rejects(c.manager.predictions(c.id), /no evaluated epoch yet/);
  c.manager.reportEvaluation(c.id, result(1), Buffer.from('id,label\n'));
  c.manager.reportEvaluation(c.id, result(1), Buffer.from('retried'));
  assert.equal(c.manager.get(c.id).epochs.length, 1);
  assert.equal((await c.manager.predictions(c.id)).toString(), 'id,label\n');
  c.manager.reportEvaluation(c.id, result(2), Buffer.alloc(0));
  // The last worker's exit (or beat) then finishes it.
  c.launcher.latest('evaluator', 0).exit(0);
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.succeeded);
  assert.deepEqual(
    c.published.filter((e) => e.event === 'epoch').map((e) => e.epoch?.epoch),
    [1, 2],
  );
});

test('worker log lines: warnings and errors become log events, info is dropped', async () => {
  const c = await running();
  c.manager.workerLog(c.id, 'trainer-0', JSON.stringify({ level: 30, msg: 'step' }));
  c.manager.workerLog(
    c.id,
    'trainer-0',
    JSON.stringify({ level: 50, msg: 'push', err: { message: 'boom' } }),
  );
  c.manager.workerLog(c.id, 'trainer-1', 'Error: plain text');
  c.manager.workerLog('unknown-job', 'trainer-0', 'Error: ignored');
  const logs = c.published.filter((e) => e.event === 'log' && e.log?.source !== 'coordinator');
  assert.deepEqual(
    logs.map((e) => [e.log?.level, e.log?.source, e.log?.message]),
    [
      ['error', 'trainer-0', 'push: boom'],
      ['error', 'trainer-1', 'Error: plain text'],
    ],
  );
});

test('worker log lines after the job ended are not forwarded: its final state stays the last event', async () => {
  const c = await running();
  c.launcher.latest('trainer', 0).exit(0);
  c.launcher.latest('trainer', 1).exit(0);
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.succeeded);
  // A late heartbeat is answered "stop": the worker warns about it on its way out.
  c.manager.workerLog(
    c.id,
    'evaluator-0',
    JSON.stringify({ level: 40, msg: 'coordinator asked to stop', reason: 'job JOB_STATE_SUCCEEDED' }),
  );
  const last = c.published.filter((e) => e.jobId === c.id).at(-1);
  assert.equal(last?.event, 'state');
  assert.equal(last?.state?.state, JobStates.succeeded);
});

test('the backend a trainer reports replaces the spec one', async () => {
  const c = await running();
  c.manager.setBackend(c.id, 'wasm');
  assert.equal(c.manager.toWire(c.manager.get(c.id)).backend, 'wasm');
});

test('poison and limits: out-of-range progress is refused; a diverged loss or test loss fails the job', async () => {
  const c = await running();
  // A global step of 2^53 - 1 used to loop the coordinator (one epoch end per stepsPerEpoch).
  assert.throws(
    () => c.manager.heartbeat(beat(c.id, 'trainer', 0, { globalStep: 2 ** 53 - 1 })),
    (err: unknown) => err instanceof ValidationError && err.field === 'progress.global_step',
  );
  assert.throws(
    () => c.manager.heartbeat({ ...beat(c.id, 'trainer', 0), role: 'x'.repeat(100_000) }),
    (err: unknown) => err instanceof ValidationError && err.field === 'role' && err.message.length < 400,
  );
  assert.throws(
    () => c.manager.reportEvaluation(c.id, { ...result(1), epoch: 2 ** 32 - 1 }, Buffer.alloc(0)),
    (err: unknown) => err instanceof ValidationError && err.field === 'result.epoch',
  );
  assert.equal(c.manager.get(c.id).state, JobStates.running);
  const why = 'loss became NaN at step 7, epoch 2; lower learningRate or enable clipNorm';
  const res = c.manager.heartbeat({ ...beat(c.id, 'trainer', 1), status: 'diverged', message: why });
  assert.equal(res.stop, true);
  await settle();
  const job = c.manager.get(c.id);
  assert.equal(job.state, JobStates.failed);
  assert.equal(job.reason, why);
});

test("the evaluator's non-finite test loss fails the job instead of succeeding", async () => {
  const c = await running();
  c.manager.reportEvaluation(
    c.id,
    { ...result(1), testLoss: Number.NaN, testAccuracy: 0.1 },
    Buffer.alloc(0),
  );
  await settle();
  const job = c.manager.get(c.id);
  assert.equal(job.state, JobStates.failed);
  assert.match(job.reason, /test loss became NaN at epoch 1; lower learningRate or enable clipNorm/);
});
