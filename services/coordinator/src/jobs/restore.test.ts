import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStates } from '@distrain/core';
import { MemoryJobRecordStore } from '../ports.ts';
import { restartBackoffMs } from './supervisor.ts';
import type { FakeParameterServers } from './test-fakes.ts';
import { beat, fakeCoordinator, jobDoc, settle, statesOf, idOf } from './test-fakes.ts';

/**
 * Coordinator A runs a job and goes away leaving its workers (keepJobsOnClose); coordinator B starts
 * on the same record store and parameter servers and restores.
 */
async function restarted(
  spec: Record<string, unknown> = {},
  prepare?: (ps: FakeParameterServers) => void,
  linked = false,
) {
  const a = fakeCoordinator({ keepJobsOnClose: true });
  const id = idOf(await a.manager.submit(jobDoc(spec)));
  await settle();
  a.manager.heartbeat(beat(id, 'trainer', 0, { globalStep: 3 }));
  a.manager.heartbeat(beat(id, 'trainer', 1, { status: 'done' }));
  await a.manager.close();
  prepare?.(a.ps);
  const b = fakeCoordinator({ parameterServers: a.ps, store: a.store });
  if (linked) b.launcher.workersOutliveCoordinator = false;
  await b.manager.restore(await a.store.loadJobs());
  await settle();
  return { a, b, id };
}

test('a running job is re-adopted: Running, progress and restarts kept, no worker relaunched while beating', async () => {
  const { b, id } = await restarted({ fault: { stragglerTimeoutMs: 5_000 } });
  const record = b.manager.get(id);
  assert.equal(record.state, JobStates.running);
  assert.equal(record.progress.globalStep, 3);
  assert.deepEqual(record.psShards, ['ps-0:1']);
  assert.equal(record.workers.get('trainer-1')?.status, 'done');
  const logs = b.published.filter((e) => e.event === 'log').map((e) => String(e.log?.message));
  assert.ok(
    logs.some((m) => m.startsWith('the coordinator restarted; re-adopted the job at step 0')),
    logs.join(),
  );
  for (let i = 0; i < 10; i++) {
    b.manager.heartbeat(beat(id, 'trainer', 0, { globalStep: Math.min(10, 4 + i) }));
    await b.clock.advance(1_000);
  }
  assert.equal(b.launcher.launched.length, 0);
  b.manager.heartbeat(beat(id, 'trainer', 0, { status: 'done' }));
  await settle();
  assert.equal(record.state, JobStates.succeeded);
  assert.deepEqual(b.launcher.stoppedJobs, [id]);
  assert.ok(b.ps.ops(id).includes('endJob'));
});

test('a re-adopted worker that stays silent is relaunched at once (no handle to stop) after the timeout', async () => {
  const { b, id } = await restarted({ fault: { stragglerTimeoutMs: 5_000 } });
  await b.clock.advance(5_000);
  assert.equal(b.launcher.launched.length, 0);
  await b.clock.advance(1_000 + restartBackoffMs(1));
  const relaunched = b.launcher.latest('trainer', 0);
  assert.equal(relaunched.attempt, 1);
  assert.equal(relaunched.config.coordinator, 'coordinator:1');
  assert.equal(relaunched.config.jobId, id);
  assert.equal(b.launcher.launched.length, 1, 'the rank that was done is not relaunched');
});

test('workers linked to the previous coordinator (local processes) are relaunched at once, not counted as restarts', async () => {
  const { b, id } = await restarted({ fault: { stragglerTimeoutMs: 60_000 } }, undefined, true);
  const relaunched = b.launcher.latest('trainer', 0);
  assert.equal(relaunched.attempt, 0, 'a relaunch after a coordinator restart is not a restart');
  assert.equal(relaunched.config.jobId, id);
  const roles = b.launcher.launched.map((w) => `${w.config.role}-${w.config.rank}`).sort();
  assert.deepEqual(roles, ['trainer-0'], 'the rank that was done is not relaunched');
  const logs = b.published.filter((e) => e.event === 'log').map((e) => String(e.log?.message));
  assert.ok(
    logs.some((m) => m.includes('relaunched now')),
    logs.join(),
  );
  assert.equal(b.manager.get(id).state, JobStates.running);
});

test('a job that trained to its end while no coordinator listened finishes at once, its epochs timed by the shards', async () => {
  // Two epochs of 10 steps; every step applied and both epochs evaluated while the coordinator was
  // down: the trainers' and the evaluator's final words were lost.
  const { b, id } = await restarted(
    { epochs: 2, evaluation: { enabled: true }, fault: { stragglerTimeoutMs: 60_000 } },
    (ps) => {
      for (const k of ps.held.keys()) ps.held.set(k, 20);
    },
  );
  const record = b.manager.get(id);
  assert.equal(record.state, JobStates.running);
  assert.ok(
    [...record.workers.values()].filter((w) => w.role === 'trainer').every((w) => w.status === 'done'),
  );
  const start = record.trainStartMs;
  assert.ok(start > 0);
  // The evaluator's retried reports arrive; the shards' snapshot times give the epochs' durations.
  const report = (epoch: number, endMs: number) =>
    b.manager.reportEvaluation(
      id,
      { epoch, testAccuracy: 0.9, testLoss: 0.3, numSamples: 100, epochEndMs: endMs },
      Buffer.from(`epoch ${epoch}\n`),
    );
  report(1, start + 5_000);
  report(2, start + 12_000);
  await settle();
  assert.equal(record.state, JobStates.succeeded, 'no straggler timeout waited out');
  assert.deepEqual(
    record.epochs.map((e) => e.trainSeconds),
    [5, 7],
  );
  assert.equal(b.manager.toWire(record).trainSeconds, 12);
  assert.equal(b.launcher.launched.length, 0, 'nobody relaunched');
});

test('a running job whose parameter servers lost its state fails with the reason', async () => {
  const { b, id } = await restarted({}, (ps) => ps.held.clear());
  const record = b.manager.get(id);
  assert.equal(record.state, JobStates.failed);
  assert.match(
    record.reason,
    /^the coordinator restarted and the parameter servers no longer hold the job's state \(job .* not found\)$/,
  );
  assert.deepEqual(b.launcher.stoppedJobs, [id]);
  assert.deepEqual(b.catalog.released, [id]);
});

test('the shard watch leaves a stored job alone until restore has checked its shards', async () => {
  // The watch's InitJob{resume} would create the job again on a shard that lost it: a tick while
  // restore waits for the shards' answer must not send it (seen as a flaky end-to-end failure: a
  // Running job whose shards had lost it came back Running from step 0).
  const a = fakeCoordinator({ keepJobsOnClose: true });
  const id = idOf(await a.manager.submit(jobDoc()));
  await settle();
  await a.manager.close();
  a.ps.held.clear();
  let answer: () => void = () => undefined;
  a.ps.pullGate = new Promise<void>((resolve) => (answer = resolve));
  const b = fakeCoordinator({ parameterServers: a.ps, store: a.store });
  const restoring = b.manager.restore(await a.store.loadJobs());
  await settle();
  assert.deepEqual(a.ps.ops(id).slice(-1), ['pull'], 'restore is asking the shards');
  const before = a.ps.ops(id).length;
  await b.clock.advance(5_000); // five watch intervals while the pull waits
  assert.deepEqual(a.ps.ops(id).slice(before), [], 'no InitJob while restore decides');
  answer();
  await restoring;
  await settle();
  assert.equal(b.manager.get(id).state, JobStates.failed);
  // After restore the watch runs again (for the jobs it re-adopted).
  const again = await restarted();
  const after = again.a.ps.ops(again.id).length;
  await again.b.clock.advance(1_000);
  assert.ok(again.a.ps.ops(again.id).slice(after).includes('ensure'), again.a.ps.ops(again.id).join());
});

test('a job left Pending fails: it cannot be resumed', async () => {
  const a = fakeCoordinator({ keepJobsOnClose: true });
  a.ps.initGate = new Promise(() => undefined);
  const id = idOf(await a.manager.submit(jobDoc()));
  await settle();
  await a.manager.close();
  const b = fakeCoordinator({ store: a.store });
  await b.manager.restore(await a.store.loadJobs());
  await settle();
  assert.equal(b.manager.get(id).state, JobStates.failed);
  assert.equal(
    b.manager.get(id).reason,
    'the coordinator restarted while the job was starting; submit it again',
  );
  assert.deepEqual(statesOf(b.published, id), [JobStates.failed]);
});

test('ended jobs come back as they were; unreadable and duplicate records are skipped', async () => {
  const a = fakeCoordinator();
  const id = idOf(await a.manager.submit(jobDoc()));
  await settle();
  await a.manager.cancel(id, 'done with it');
  const b = fakeCoordinator({ store: new MemoryJobRecordStore() });
  const stored = await a.store.loadJobs();
  await b.manager.restore([...stored, { storeVersion: 2, id: 'future' }, null, ...stored]);
  assert.deepEqual(
    b.manager.list().map((j) => [j.id, j.state, j.reason]),
    [[id, JobStates.cancelled, 'done with it']],
  );
  assert.equal(b.published.length, 0, 'nothing happens to an ended job');
  await assert.rejects(b.manager.predictions(id), /no evaluated epoch yet/);
});
