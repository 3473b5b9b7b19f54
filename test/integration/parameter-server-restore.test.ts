/**
 * A parameter-server shard that restarts: step checkpoints every N steps, NOT_FOUND from the empty
 * shard, InitJob{resume} restoring its newest checkpoint, InitJob{rollback} bringing the other
 * shard to the same version, the evaluator's epoch served from the epoch checkpoint once the
 * snapshot is gone, and the result equal to an uninterrupted run (same values, same Adam slots).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isServiceError, startGrpcServer } from '@distrain/core';
import { ParameterClient } from '@distrain/core/ps';
import type { OptimizerConfig, ParamMap, RunningGrpcServer, VariableInfo } from '@distrain/core';
import type { PsInitOptions } from '@distrain/core/ps';
import { ParameterServerService } from '../../services/parameter-server/src/ps-service.ts';

const VARS: VariableInfo[] = [
  { name: 'd0/kernel', shape: [4, 3], initializer: 'glorotUniform', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'd0/bias', shape: [3], initializer: 'zeros', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'bn/moving_mean', shape: [3], initializer: 'zeros', fanIn: 3, fanOut: 3, trainable: false },
  { name: 'd1/kernel', shape: [3, 2], initializer: 'heNormal', fanIn: 3, fanOut: 2, trainable: true },
];
const ADAM: OptimizerConfig = { type: 'adam', learningRate: 0.01 };
const INIT: PsInitOptions = {
  seed: 9,
  optimizer: ADAM,
  worldSize: 2,
  stepsPerEpoch: 4,
  checkpointEverySteps: 2,
  resume: true,
};

interface Shard {
  service: ParameterServerService;
  server: RunningGrpcServer;
}

async function startShard(index: number, dir: string | undefined, address?: string): Promise<Shard> {
  const service = new ParameterServerService({ shardIndex: index, ...(dir ? { checkpointDir: dir } : {}) });
  const server = await startGrpcServer({ services: [service.binding()], ...(address ? { address } : {}) });
  return { service, server };
}

async function stopShard(s: Shard): Promise<void> {
  await s.service.close();
  await s.server.shutdown(1_000);
}

function grads(rank: number, step: number): ParamMap {
  const m: ParamMap = new Map();
  for (const v of VARS.filter((x) => x.trainable)) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    m.set(
      v.name,
      Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1 + rank * 7 + step * 13)),
    );
  }
  return m;
}

async function step(ps: ParameterClient, s: number): Promise<void> {
  await Promise.all(
    [0, 1].map((rank) =>
      ps.pushPull({
        rank,
        step: s,
        sampleCount: 2,
        grads: grads(rank, s),
        states: new Map([['bn/moving_mean', Float32Array.from([s, rank, 1])]]),
        lossSum: 1,
      }),
    ),
  );
}

function client(shards: Shard[], jobId: string): ParameterClient {
  return new ParameterClient({
    jobId,
    shardAddresses: shards.map((s) => s.server.address),
    variables: VARS,
    maxPartBytes: 16,
    timeoutMs: 5_000,
    retries: 0,
    dataPlane: 'grpc',
  });
}

/** Waits for every queued checkpoint write of the job on these shards. */
async function flushed(shards: Shard[], jobId: string): Promise<void> {
  for (const s of shards) await s.service.job(jobId).checkpointChain;
}

void test('a restarted shard restores its newest step checkpoint, the other rolls back, the run ends as an uninterrupted one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-ps-restore-'));
  const shards: Shard[] = [];
  const ref: Shard[] = [];
  try {
    // The reference: 8 steps without interruption, no checkpoints.
    for (let i = 0; i < 2; i++) ref.push(await startShard(i, undefined));
    const r = client(ref, 'job-a');
    await r.init({ ...INIT, resume: false });
    for (let s = 0; s < 8; s++) await step(r, s);
    const want = (await r.pull()).params;
    const wantEpoch1 = (await r.pull({ epoch: 1 })).params;
    r.close();

    for (let i = 0; i < 2; i++) shards.push(await startShard(i, dir));
    let ps = client(shards, 'job-a');
    assert.deepEqual(await ps.init(INIT), { version: 0, resumedEpochs: 0 });
    // Versions 1..7: checkpoints at 2, 4 (epoch 1), 6 (flushed each step: a step checkpoint due
    // while two writes are in flight is skipped).
    for (let s = 0; s < 7; s++) {
      await step(ps, s);
      await flushed(shards, 'job-a');
    }
    assert.deepEqual((await readdir(join(dir, 'job-a', 'shard-1'))).sort(), [
      'v000000000002.ckpt',
      'v000000000004-epoch000001.ckpt',
      'v000000000006.ckpt',
    ]);

    // Shard 1 dies and comes back empty on the same address.
    const address = shards[1]?.server.address as string;
    await stopShard(shards[1] as Shard);
    shards[1] = await startShard(1, dir, address);
    ps.close();
    ps = client(shards, 'job-a');
    await assert.rejects(
      step(ps, 7),
      (err: unknown) => isServiceError(err) && err.code === GrpcStatus.NOT_FOUND,
    );

    // Shard 0 applied step 7 (both ranks reached it): the shards now disagree, 8 against nothing.
    await flushed(shards.slice(0, 1), 'job-a');
    // The coordinator's watch: InitJob{resume} on every shard shows who restarted and from where.
    const seen = await ps.initEach(INIT);
    assert.deepEqual(
      seen.map((s) => [s.created, s.version, s.restoredVersion, s.checkpointVersions]),
      [
        [false, 8, 0, [4, 6, 8]], // the newest three are kept
        [true, 6, 6, [2, 4, 6]],
      ],
    );
    // ... and InitJob{rollback} brings every shard to the restored version.
    const rolled = await ps.initEach({ ...INIT, rollbackTo: 6 });
    assert.deepEqual(
      rolled.map((s) => [s.created, s.version]),
      [
        [true, 6],
        [false, 6],
      ],
    );
    // A rollback to a version no checkpoint holds is refused with the reason.
    await assert.rejects(ps.initEach({ ...INIT, rollbackTo: 5 }), (err: unknown) => {
      return (
        isServiceError(err) && err.code === GrpcStatus.FAILED_PRECONDITION && /version 5/.test(err.details)
      );
    });
    // Both snapshots of epoch 1 are gone (a restart, a rollback): the epoch checkpoint serves it.
    const epoch1 = await ps.pull({ epoch: 1 });
    assert.equal(epoch1.version, 4);
    assert.deepEqual(epoch1.params, wantEpoch1);

    // Redo steps 6 and 7: exactly the uninterrupted result (parameters, Adam slots, BN state).
    for (let s = 6; s < 8; s++) await step(ps, s);
    const got = await ps.pull();
    assert.equal(got.version, 8);
    assert.deepEqual(got.params, want);
    ps.close();
  } finally {
    await Promise.all([...shards, ...ref].map(stopShard));
    await rm(dir, { recursive: true, force: true });
  }
});
