/**
 * Checkpoint cost on one parameter-server shard (in process, no transport): an Adam job of the
 * digits MLP (~100K parameters) and of 25M parameters, 1 rank pushing every step. Reports the step
 * rate without checkpoints and with a checkpoint every N steps, and per checkpoint the copy on the
 * step path (parameters and slots) and the background write (file, fsync, rename).
 *
 *   node --import tsx bench/checkpoint.ts [--quick]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optimizerToSpec, partitionPlan, variableToSpec } from '@distrain/core/ps';
import type { VariableInfo } from '@distrain/core';
import type { InitJobRequest__Output, PushPullRequest__Output } from '@distrain/core/ps';
import { ParameterServerService } from '../services/parameter-server/src/ps-service.ts';

const quick = process.argv.includes('--quick');

function dense(name: string, inputs: number, units: number): VariableInfo[] {
  return [
    {
      name: `${name}/kernel`,
      shape: [inputs, units],
      initializer: 'glorotUniform',
      fanIn: inputs,
      fanOut: units,
      trainable: true,
    },
    {
      name: `${name}/bias`,
      shape: [units],
      initializer: 'zeros',
      fanIn: inputs,
      fanOut: units,
      trainable: true,
    },
  ];
}

async function measure(variables: VariableInfo[], steps: number, every: number) {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-bench-ckpt-'));
  const service = new ParameterServerService({ checkpointDir: dir });
  const jobId = `bench-${every}`;
  const req = {
    jobId,
    seed: 1,
    variables: variables.map(variableToSpec),
    optimizer: optimizerToSpec({ type: 'adam', learningRate: 0.001 }),
    worldSize: 1,
    stepsPerEpoch: 1_000_000,
    shardIndex: 0,
    shardCount: 1,
    checkpointDir: '',
    resume: false,
    maxPartBytes: 0,
    shardAddresses: [],
    initialValues: [],
    checkpointEverySteps: every,
    resumeVersion: 0,
    rollback: false,
  } as unknown as InitJobRequest__Output;
  await service.initJob(req);
  const plan = partitionPlan(variables, 1);
  const grads = plan.parts.map((p) => ({
    name: p.key,
    tensor: {
      dtype: 'DTYPE_FLOAT32',
      shape: [p.length],
      data: Buffer.from(Float32Array.from({ length: p.length }, (_, i) => Math.sin(i) * 1e-3).buffer),
    },
  }));
  const t0 = performance.now();
  for (let step = 0; step < steps; step++) {
    const push = {
      jobId,
      rank: 0,
      step,
      sampleCount: 32,
      grads,
      states: [],
      lossSum: 1,
    } as unknown as PushPullRequest__Output;
    await service.pushPull(push, { deadlineMs: Date.now() + 60_000 });
  }
  const seconds = (performance.now() - t0) / 1000;
  const job = service.job(jobId);
  await job.checkpointChain;
  await service.close();
  await rm(dir, { recursive: true, force: true });
  return { stepsPerSecond: steps / seconds, last: job.lastCheckpoint };
}

const mlp = [...dense('l1_dense', 784, 128), ...dense('l3_dense', 128, 10)];
const big = [...dense('big0', 5000, 2500), ...dense('big1', 2500, 5000)]; // 25,007,500 parameters
for (const [label, vars, steps, every] of [
  ['mlp (101,770 params)', mlp, quick ? 400 : 2000, 200],
  ['25M params', big, quick ? 20 : 60, 10],
] as const) {
  const off = await measure([...vars], steps, 0);
  const on = await measure([...vars], steps, every);
  console.log(
    JSON.stringify({
      model: label,
      checkpointEverySteps: every,
      stepsPerSecondWithout: Number(off.stepsPerSecond.toFixed(1)),
      stepsPerSecondWith: Number(on.stepsPerSecond.toFixed(1)),
      lastCheckpoint: on.last,
    }),
  );
}
