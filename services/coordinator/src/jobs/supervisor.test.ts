import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_CONFIG, JobStates } from '@distrain/core';
import { STARTING_GRACE_MS, firstUnevaluatedEpoch, restartBackoffMs } from './supervisor.ts';
import type { JobRecord } from './record.ts';
import { beat, fakeCoordinator, jobDoc, settle, statesOf, idOf } from './test-fakes.ts';

/** A coordinator on fakes with one job running (its workers launched). */
async function running(spec: Record<string, unknown> = {}) {
  const c = fakeCoordinator();
  const id = idOf(await c.manager.submit(jobDoc(spec)));
  await settle();
  assert.equal(c.manager.get(id).state, JobStates.running);
  return { ...c, id };
}

test('restart backoff doubles from 0.5 s up to 10 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(restartBackoffMs), [500, 1000, 2000, 4000, 8000, 10000, 10000]);
});

test('a failed trainer is relaunched after the backoff, with the next attempt number', async () => {
  const c = await running({ fault: { maxRestarts: 3 } });
  assert.equal(c.launcher.launched.length, 2);
  c.launcher.latest('trainer', 1).exit(1, 'exit code 1: out of memory');
  await settle();
  assert.equal(c.launcher.launched.length, 2, 'nothing relaunched before the backoff');
  assert.equal(c.manager.get(c.id).workers.get('trainer-1')?.restarts, 1);
  await c.clock.advance(499);
  assert.equal(c.launcher.launched.length, 2);
  await c.clock.advance(1);
  assert.equal(c.launcher.launched.length, 3);
  const again = c.launcher.latest('trainer', 1);
  assert.equal(again.attempt, 1);
  // The second failure waits twice as long.
  again.exit(1);
  await settle();
  await c.clock.advance(999);
  assert.equal(c.launcher.launched.length, 3);
  await c.clock.advance(1);
  assert.equal(c.launcher.latest('trainer', 1).attempt, 2);
  const logs = c.published.filter((e) => e.event === 'log').map((e) => e.log?.message);
  assert.ok(
    logs.includes('trainer rank 1 failed (exit code 1: out of memory); restart 1 of 3'),
    logs.join('\n'),
  );
  assert.equal(c.manager.get(c.id).state, JobStates.running);
  // The restart count is saved with the record.
  const stored = c.store.records.get(c.id) as { workers: { rank: number; restarts: number }[] };
  assert.equal(stored.workers.find((w) => w.rank === 1)?.restarts, 2);
});

test('evict: the failed rank is replaced and resumes from the parameter servers; the others keep running', async () => {
  const c = await running({ fault: { onTrainerFailure: 'evict', maxRestarts: 2 } });
  const rank0 = c.launcher.latest('trainer', 0);
  const first = c.launcher.latest('trainer', 1);
  first.exit(137, 'OOMKilled');
  await settle();
  await c.clock.advance(restartBackoffMs(1));
  const replacement = c.launcher.latest('trainer', 1);
  assert.notEqual(replacement, first);
  assert.equal(replacement.config.rank, 1);
  assert.equal(replacement.config.worldSize, 2);
  assert.deepEqual(replacement.config.psShards, first.config.psShards);
  assert.equal(rank0.stopped, false, 'the surviving rank is not touched');
  assert.equal(c.launcher.launched.filter((w) => w.config.rank === 0).length, 1);
  // The job's parameter-server state is kept (no second InitJob, no EndJob): the new rank resumes.
  assert.deepEqual(c.ps.ops(c.id), ['init']);
  assert.deepEqual(statesOf(c.published, c.id), [JobStates.pending, JobStates.running]);
});

test('the job fails when a worker fails past the restart limit', async () => {
  const c = await running({ fault: { maxRestarts: 1 } });
  c.launcher.latest('trainer', 0).exit(1, 'boom');
  await settle();
  await c.clock.advance(restartBackoffMs(1));
  c.launcher.latest('trainer', 0).exit(1, 'boom again');
  await settle();
  const record = c.manager.get(c.id);
  assert.equal(record.state, JobStates.failed);
  assert.equal(record.reason, 'trainer rank 0 failed 2 times (restart limit 1): boom again');
  assert.deepEqual(c.launcher.stoppedJobs, [c.id]);
  assert.equal(c.clock.pending, 2, 'only the liveness monitor and the shard watch are left');
});

test('onTrainerFailure: fail ends the job at the first trainer failure', async () => {
  const c = await running({ fault: { onTrainerFailure: 'fail', maxRestarts: 5 } });
  c.launcher.latest('trainer', 1).exit(2, 'bad gradient');
  await settle();
  const record = c.manager.get(c.id);
  assert.equal(record.state, JobStates.failed);
  assert.match(
    record.reason,
    /trainer rank 1 failed and spec.fault.onTrainerFailure is "fail": bad gradient/,
  );
  await c.clock.advance(60_000);
  assert.equal(c.launcher.launched.length, 2, 'nothing relaunched');
});

test('onTrainerFailure: fail still restarts the evaluator', async () => {
  const c = await running({ fault: { onTrainerFailure: 'fail' }, evaluation: { enabled: true } });
  c.launcher.latest('evaluator', 0).exit(1, 'crash');
  await settle();
  assert.equal(c.manager.get(c.id).state, JobStates.running);
  await c.clock.advance(restartBackoffMs(1));
  assert.equal(c.launcher.latest('evaluator', 0).attempt, 1);
});

test('a straggler is stopped and relaunched after the straggler timeout', async () => {
  const c = await running({ fault: { stragglerTimeoutMs: 5_000 } });
  c.manager.heartbeat(beat(c.id, 'trainer', 0));
  c.manager.heartbeat(beat(c.id, 'trainer', 1));
  // Rank 0 keeps beating, rank 1 goes silent.
  for (let i = 0; i < 5; i++) {
    await c.clock.advance(1_000);
    c.manager.heartbeat(beat(c.id, 'trainer', 0));
  }
  const silent = c.launcher.latest('trainer', 1);
  assert.equal(silent.stopped, false);
  await c.clock.advance(1_000);
  assert.equal(silent.stopped, true, 'stopped after 6 s of silence');
  assert.equal(c.launcher.latest('trainer', 0).stopped, false);
  const logs = c.published.filter((e) => e.event === 'log').map((e) => String(e.log?.message));
  assert.ok(
    logs.some((m) => m.startsWith('trainer rank 1 sent no heartbeat for 6 s')),
    logs.join('\n'),
  );
  assert.ok(
    logs.some((m) => m.includes('failed (heartbeat timeout); restart 1 of')),
    logs.join('\n'),
  );
  await c.clock.advance(restartBackoffMs(1));
  assert.equal(c.launcher.latest('trainer', 1).attempt, 1);
});

test('a worker still starting gets the start-up grace before the straggler timeout', async () => {
  const c = await running({ fault: { stragglerTimeoutMs: 5_000 } });
  await c.clock.advance(5_000 + STARTING_GRACE_MS - 1_000);
  assert.equal(c.launcher.latest('trainer', 0).stopped, false);
  await c.clock.advance(2_000);
  assert.equal(c.launcher.latest('trainer', 0).stopped, true);
});

test('a relaunch that cannot start fails the job with the reason', async () => {
  const c = await running();
  c.launcher.latest('trainer', 0).exit(1);
  await settle();
  c.launcher.failNextLaunch = new Error('pods "x" is forbidden');
  await c.clock.advance(restartBackoffMs(1));
  const record = c.manager.get(c.id);
  assert.equal(record.state, JobStates.failed);
  assert.equal(record.reason, 'relaunch failed: pods "x" is forbidden');
});

test('a pending restart is dropped when the job ends', async () => {
  const c = await running();
  c.launcher.latest('trainer', 0).exit(1);
  await settle();
  await c.manager.cancel(c.id, 'enough');
  await c.clock.advance(60_000);
  assert.equal(c.launcher.launched.length, 2);
});

test('exit 78 (EXIT_CONFIG, e.g. GPUs without a GPU backend) fails the job at once, without restarts', async () => {
  const c = await running({ fault: { maxRestarts: 3 } });
  c.launcher.latest('trainer', 1).exit(EXIT_CONFIG, 'exit code 78');
  await settle();
  await c.clock.advance(restartBackoffMs(1));
  const record = c.manager.get(c.id);
  assert.equal(record.state, JobStates.failed);
  assert.equal(record.reason, 'trainer 1 cannot start: exit code 78');
  assert.equal(c.launcher.launched.filter((w) => w.config.rank === 1).length, 1, 'not relaunched');
});

test('a restarted evaluator starts at the first epoch without a result', () => {
  const e = (epoch: number) => ({ epoch }) as unknown as JobRecord['epochs'][number];
  assert.equal(firstUnevaluatedEpoch({ epochs: [] }), 1);
  assert.equal(firstUnevaluatedEpoch({ epochs: [e(1), e(2)] }), 3);
  assert.equal(firstUnevaluatedEpoch({ epochs: [e(1), e(3)] }), 2);
});
