import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStates, StateError } from '@distrain/core';
import type { JobStateName } from '@distrain/core';
import { beat, fakeCoordinator, jobDoc, settle, statesOf, idOf } from './test-fakes.ts';

type Coordinator = ReturnType<typeof fakeCoordinator>;

/** Asserts the job was torn down once: workers stopped, EndJob on every shard, loader released. */
function assertTornDown(c: Coordinator, id: string, shards: string[]): void {
  assert.deepEqual(c.launcher.stoppedJobs, [id]);
  const ends = c.ps.calls.filter((x) => x.jobId === id && x.op === 'endJob');
  assert.equal(ends.length, 1);
  assert.deepEqual(ends[0]?.shards, shards);
  assert.deepEqual(c.ps.ops(id).slice(-3), ['pull', 'endJob', 'close']);
  assert.equal(c.ps.held.has(id), false, 'the parameter servers no longer hold the job');
  assert.deepEqual(c.catalog.released, [id]);
  for (const w of c.launcher.launched) assert.equal(w.stopped, true);
  const record = c.manager.get(id);
  assert.ok(record.finishedAtMs > 0);
  assert.equal(record.abort.signal.aborted, true);
}

async function submitted(spec: Record<string, unknown> = {}, c = fakeCoordinator()) {
  const job = await c.manager.submit(jobDoc(spec));
  await settle();
  return { ...c, id: idOf(job) };
}

test('start: InitJob on the spec count of shards, workers launched with their config, Pending then Running', async () => {
  const c = await submitted({ parameterServer: { shards: 2 }, evaluation: { enabled: true }, seed: 7 });
  const init = c.ps.calls.find((x) => x.op === 'init');
  assert.ok(init && init.op === 'init');
  assert.deepEqual(init.shards, ['ps-0:1', 'ps-1:1']);
  assert.equal(init.options.seed, 7);
  assert.equal(init.options.worldSize, 2);
  assert.equal(init.options.stepsPerEpoch, 10); // 640 samples / 64
  assert.deepEqual(c.launcher.launched.map((w) => `${w.config.role}-${w.config.rank}@${w.attempt}`).sort(), [
    'evaluator-0@0',
    'trainer-0@0',
    'trainer-1@0',
  ]);
  const cfg = c.launcher.latest('trainer', 1).config;
  assert.equal(cfg.coordinator, 'coordinator:1');
  assert.equal(cfg.loader, 'loader:1');
  assert.deepEqual(cfg.psShards, ['ps-0:1', 'ps-1:1']);
  assert.deepEqual(statesOf(c.published, c.id), [JobStates.pending, JobStates.running]);
  assert.equal((c.store.records.get(c.id) as { state: string }).state, JobStates.running);
});

test('the shard count is capped by the shards running', async () => {
  const c = await submitted({ parameterServer: { shards: 4 } });
  assert.deepEqual(c.manager.get(c.id).psShards, ['ps-0:1', 'ps-1:1']);
});

test('success: every worker done tears the job down and keeps the final parameters', async () => {
  const c = await submitted({ parameterServer: { shards: 1 } });
  c.launcher.latest('trainer', 0).exit(0);
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.running, 'one rank is still training');
  c.launcher.latest('trainer', 1).exit(0);
  await settle();
  assert.deepEqual(statesOf(c.published, c.id), [JobStates.pending, JobStates.running, JobStates.succeeded]);
  assertTornDown(c, c.id, ['ps-0:1']);
  const inputs = await c.manager.exportInputs(c.id);
  assert.equal(inputs.job.metadata.name, 'unit');
});

test('failure tears the job down the same way', async () => {
  const c = await submitted({ fault: { maxRestarts: 0 } });
  c.launcher.latest('trainer', 0).exit(1, 'segfault');
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.failed);
  assertTornDown(c, c.id, ['ps-0:1']);
});

test('cancel: a running job is torn down with the reason; cancelling again changes nothing', async () => {
  const c = await submitted();
  const job = await c.manager.cancel(c.id, 'not needed');
  assert.equal(job.state, JobStates.cancelled);
  assert.equal(job.reason, 'not needed');
  assertTornDown(c, c.id, ['ps-0:1']);
  const again = await c.manager.cancel(c.id, 'twice');
  assert.equal(again.reason, 'not needed');
  assert.equal(c.launcher.stoppedJobs.length, 1);
  assert.equal((await c.manager.cancel(c.id, '')).state, JobStates.cancelled);
});

test('cancel without a reason says who cancelled', async () => {
  const c = await submitted();
  assert.equal((await c.manager.cancel(c.id, '')).reason, 'cancelled by user');
});

test('cancel while the parameter servers initialise: no worker is launched, and the job is still freed', async () => {
  const c = fakeCoordinator();
  let open!: () => void;
  c.ps.initGate = new Promise((r) => (open = r));
  const id = idOf(await c.manager.submit(jobDoc()));
  await settle();
  assert.equal(c.manager.get(id).state, JobStates.pending);
  await c.manager.cancel(id, 'changed my mind');
  open();
  await settle();
  assert.deepEqual(statesOf(c.published, id), [JobStates.pending, JobStates.cancelled]);
  assert.equal(c.launcher.launched.length, 0);
  assert.ok(c.ps.ops(id).includes('endJob'));
});

test('a start that fails (InitJob or a launch) fails the job with the reason', async () => {
  const c = fakeCoordinator();
  c.launcher.failNextLaunch = new Error('no such image');
  const id = idOf(await c.manager.submit(jobDoc()));
  await settle();
  const record = c.manager.get(id);
  assert.equal(record.state, JobStates.failed);
  assert.equal(record.reason, 'could not start: no such image');
  assert.deepEqual(c.catalog.released, [id]);
});

test('every end is terminal: a late worker exit or heartbeat does not move an ended job', async () => {
  const c = await submitted();
  await c.manager.cancel(c.id, 'stop');
  c.launcher.latest('trainer', 0).exit(0);
  await settle();
  assert.deepEqual(c.manager.heartbeat(beat(c.id, 'trainer', 0, { status: 'done' })), {
    stop: true,
    reason: `job ${JobStates.cancelled}`,
  });
  assert.deepEqual(statesOf(c.published, c.id), [JobStates.pending, JobStates.running, JobStates.cancelled]);
});

test('the state machine refuses a move the vocabulary does not allow', async () => {
  const c = await submitted();
  await c.manager.cancel(c.id, 'stop');
  const record = c.manager.get(c.id);
  // Reach into the book the parts share: a Cancelled job cannot be made Running again.
  const book = (
    c.manager as unknown as { book: { setState(r: unknown, s: JobStateName, why: string): void } }
  ).book;
  assert.throws(() => book.setState(record, JobStates.running, ''), StateError);
  assert.equal(record.state, JobStates.cancelled);
});

test('close cancels every active job and tears each down', async () => {
  const c = await submitted();
  await c.manager.close();
  assert.equal(c.manager.get(c.id).state, JobStates.cancelled);
  assert.equal(c.manager.get(c.id).reason, 'coordinator shut down');
  assertTornDown(c, c.id, ['ps-0:1']);
  assert.equal(c.clock.pending, 0, 'the liveness monitor is stopped');
});

test('close with keepJobsOnClose leaves jobs running and saved for the next coordinator', async () => {
  const c = await submitted({}, fakeCoordinator({ keepJobsOnClose: true }));
  await c.manager.close();
  assert.equal(c.manager.get(c.id).state, JobStates.running);
  assert.deepEqual(c.launcher.stoppedJobs, []);
  assert.equal(c.ps.held.has(c.id), true);
  assert.equal((c.store.records.get(c.id) as { state: string }).state, JobStates.running);
});
