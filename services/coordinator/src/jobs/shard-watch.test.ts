import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStates } from '@distrain/core';
import type { PsShardInit } from '@distrain/core/ps';
import { planRecovery } from './shard-watch.ts';
import { fakeCoordinator, idOf, jobDoc, settle, statesOf } from './test-fakes.ts';

const shard = (
  shardIndex: number,
  version: number,
  checkpointVersions: number[],
  created = false,
): PsShardInit => ({
  shardIndex,
  version,
  resumedEpochs: 0,
  created,
  restoredVersion: created ? version : 0,
  checkpointVersions,
});

test('planRecovery: nothing when the shards agree; else the newest version all shards hold', () => {
  assert.equal(planRecovery([shard(0, 7, [2, 4, 6]), shard(1, 7, [2, 4, 6])]), undefined);
  // One shard restarted at the version the others are at (1 shard, or a restart at a checkpoint).
  assert.deepEqual(planRecovery([shard(0, 6, [6], true)]), {
    target: 6,
    rollback: false,
    restarted: [shard(0, 6, [6], true)],
  });
  // Shard 1 restored 6; shard 0 went on to 8: both go to 6.
  assert.equal(planRecovery([shard(0, 8, [4, 6, 8]), shard(1, 6, [2, 4, 6], true)])?.target, 6);
  // Shard 0 skipped the checkpoint at 6: the newest common one is 4.
  assert.equal(planRecovery([shard(0, 8, [2, 4, 8]), shard(1, 6, [2, 4, 6], true)])?.target, 4);
  // No common checkpoint: the fresh initial state.
  assert.equal(planRecovery([shard(0, 3, [2]), shard(1, 0, [], true)])?.target, 0);
  // Shards differ by a step without a restart: a step applied on one shard first; wait and see.
  assert.equal(planRecovery([shard(0, 5, [4]), shard(1, 4, [4])]), undefined);
  assert.equal(planRecovery([shard(0, 5, [4]), shard(1, 4, [4])], [4, 4]), undefined);
  // The same disagreement twice (a trainer died between two shards' pushes): the older live version.
  assert.deepEqual(planRecovery([shard(0, 5, [4]), shard(1, 4, [4])], [5, 4]), {
    target: 4,
    rollback: true,
    restarted: [],
  });
  // A restarted shard found by an earlier, failed check: it sits at the checkpoint it restored.
  const found = { ...shard(1, 50, [25, 50]), restoredVersion: 50 };
  assert.deepEqual(planRecovery([shard(0, 61, [25, 50]), found], [61, 50])?.restarted, [found]);
});

test('a restarted shard: every shard rolled back to one version, the job says so and keeps running', async () => {
  const c = fakeCoordinator();
  const id = idOf(await c.manager.submit(jobDoc({ parameterServer: { shards: 2 } })));
  await settle();
  c.ps.ensureAnswers.push([shard(0, 8, [4, 6, 8]), shard(1, 6, [2, 4, 6], true)]);
  await c.manager.shardWatch.check(c.manager.get(id));
  const ensures = c.ps.calls.filter((x) => x.op === 'ensure');
  assert.equal(ensures.length, 2);
  assert.equal(ensures[0]?.op === 'ensure' && ensures[0].options.resume, true);
  assert.equal(ensures[1]?.op === 'ensure' && ensures[1].options.rollbackTo, 6);
  const logs = c.published.filter((e) => e.jobId === id && e.event === 'log').map((e) => e.log?.message);
  assert.ok(
    logs.includes(
      'parameter server shard 1 restarted; restored from step 6; every shard rolled back to step 6, redoing 2 steps',
    ),
    logs.join('\n'),
  );
  assert.deepEqual(c.manager.shardWatch.recoveries, [{ jobId: id, target: 6, redoneSteps: 2 }]);
  assert.deepEqual(statesOf(c.published, id), [JobStates.pending, JobStates.running]);
  // The watch runs on the clock: a check with agreeing shards changes nothing.
  const before = c.ps.calls.filter((x) => x.op === 'ensure').length;
  await c.clock.advance(1_000);
  await settle();
  assert.equal(c.ps.calls.filter((x) => x.op === 'ensure').length, before + 1);
  assert.equal(c.manager.shardWatch.recoveries.length, 1);
  await c.manager.close();
});
