/**
 * Schedules, clipping by global norm and weight-decay scope on the parameter server: 1, 2 and 3
 * shards (variables cut into many parts, so the norm needs every shard's partials, exchanged over
 * real loopback gRPC) give bit-identical parameters, equal to the in-process HostOptimizer, and the
 * learning-rate gauge shows the schedule. The ZeroMQ data plane applies the same updates as gRPC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, startGrpcServer } from '@distrain/core';
import {
  NOOP_PS_OBSERVER,
  ParameterClient,
  createPsMetrics,
  initialParameters,
  learningRateAt,
  compileSchedule,
} from '@distrain/core/ps';
import { HostOptimizer } from '@distrain/core/model';
import { Registry } from 'prom-client';
import type { OptimizerConfig, ParamMap, RunningGrpcServer, VariableInfo } from '@distrain/core';
import { ParameterServerService } from '../../services/parameter-server/src/ps-service.ts';
import { startZmqDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';
import type { RunningDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';

const VARS: VariableInfo[] = [
  { name: 'd0/kernel', shape: [4, 3], initializer: 'glorotUniform', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'd0/bias', shape: [3], initializer: 'zeros', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'd1/kernel', shape: [3, 2], initializer: 'heNormal', fanIn: 3, fanOut: 2, trainable: true },
  { name: 'd1/bias', shape: [2], initializer: 'zeros', fanIn: 3, fanOut: 2, trainable: true },
];
const OPT: OptimizerConfig = {
  type: 'momentum',
  learningRate: 0.2,
  weightDecay: 0.1,
  clipNorm: 0.5,
  schedule: { type: 'cosine', warmupSteps: 2, decaySteps: 4, minLearningRate: 0.02 },
};
const STEPS = 6;

function grads(rank: number, step: number): ParamMap {
  const m: ParamMap = new Map();
  for (const v of VARS) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    // Large early gradients (clipped), small late ones (not clipped).
    const size = step < 3 ? 3 : 0.05;
    m.set(
      v.name,
      Float32Array.from({ length: n }, (_, i) => size * Math.sin(i + 1 + rank * 7 + step * 13)),
    );
  }
  return m;
}

async function run(
  shards: number,
  registry?: Registry,
  dataPlane: 'grpc' | 'zmq' = 'grpc',
): Promise<ParamMap> {
  const services: ParameterServerService[] = [];
  const servers: RunningGrpcServer[] = [];
  const planes: RunningDataPlane[] = [];
  for (let i = 0; i < shards; i++) {
    const observer = registry ? createPsMetrics(registry, i) : undefined;
    const s = new ParameterServerService({ shardIndex: i, ...(observer ? { observer } : {}) });
    services.push(s);
    servers.push(await startGrpcServer({ services: [s.binding()] }));
    if (dataPlane === 'zmq') {
      const plane = await startZmqDataPlane(s, {
        host: '127.0.0.1',
        port: 0,
        logger: silentLogger(),
        observer: NOOP_PS_OBSERVER,
        maxWaitMs: 10_000,
      });
      s.dataPlane = { port: plane.port, transport: 'zmq' };
      planes.push(plane);
    }
  }
  const ps = new ParameterClient({
    jobId: `clip-${shards}-${dataPlane}`,
    dataPlane,
    shardAddresses: servers.map((s) => s.address),
    variables: VARS,
    maxPartBytes: 8, // 2 floats per part: 12 parts over the shards
    timeoutMs: 10_000,
  });
  try {
    await ps.init({ seed: 5, optimizer: OPT, worldSize: 2, stepsPerEpoch: 100 });
    let params: ParamMap = new Map();
    for (let step = 0; step < STEPS; step++) {
      const [r] = await Promise.all([
        ps.pushPull({ rank: 0, step, sampleCount: 2, grads: grads(0, step), lossSum: 1 }),
        ps.pushPull({ rank: 1, step, sampleCount: 3, grads: grads(1, step), lossSum: 1 }),
      ]);
      params = new Map([...r.params].map(([k, v]) => [k, v.slice()]));
    }
    return params;
  } finally {
    ps.close();
    await Promise.all(services.map((s) => s.close()));
    await Promise.all(planes.map((p) => p.close()));
    await Promise.all(servers.map((s) => s.shutdown(1_000)));
  }
}

void test('cosine + warmup + clipping + kernel-only decay: 1, 2, 3 shards bit-identical and equal to HostOptimizer', async () => {
  const registry = new Registry();
  const one = await run(1, registry);
  const two = await run(2);
  const three = await run(3);
  // The ZeroMQ data plane goes through the same barrier: the same schedule and clip factor.
  const zmqOne = await run(1, undefined, 'zmq');
  const zmqTwo = await run(2, undefined, 'zmq');
  for (const other of [two, three, zmqOne, zmqTwo]) {
    for (const [k, v] of one) assert.deepEqual([...(other.get(k) as Float32Array)], [...v], k);
  }
  // The same math in process: rank sums, / samples, clip, schedule, decay on kernels only.
  const host = new HostOptimizer(OPT);
  const params = initialParameters(VARS, 5);
  for (let step = 0; step < STEPS; step++) {
    const a = grads(0, step);
    const b = grads(1, step);
    const sum: ParamMap = new Map(
      [...a].map(([k, v]) => [k, v.map((x, i) => x + ((b.get(k) as Float32Array)[i] as number))]),
    );
    host.apply(params, sum, 5);
  }
  for (const [k, v] of params) {
    const got = one.get(k) as Float32Array;
    v.forEach((x, i) => assert.ok(Math.abs(x - (got[i] as number)) < 1e-6, `${k}[${i}] ${x} vs ${got[i]}`));
  }
  // The gauge shows the rate of the last update (t = 5: cosine at u = 3 of 4).
  const s = compileSchedule(OPT.schedule, OPT.learningRate, { stepsPerEpoch: 100, totalSteps: 100 });
  const text = await registry.metrics();
  const m = /distrain_ps_learning_rate\{job_id="clip-1-grpc",shard="0"\} ([0-9.e-]+)/.exec(text);
  assert.ok(m, text);
  assert.ok(Math.abs(Number(m[1]) - learningRateAt(0.2, s, STEPS - 1)) < 1e-12);
  assert.match(text, /distrain_ps_clipped_steps_total\{job_id="clip-1-grpc",shard="0"\} 3/);
});

void test('without clipping the bias is not decayed by default; weightDecayScope all decays it', async () => {
  const zero: ParamMap = new Map(
    VARS.map((v) => [v.name, new Float32Array(v.shape.reduce((a, b) => a * b, 1))]),
  );
  const start = (): ParamMap =>
    new Map(VARS.map((v) => [v.name, new Float32Array(v.shape.reduce((a, b) => a * b, 1)).fill(1)]));
  const kernels = start();
  new HostOptimizer({ type: 'sgd', learningRate: 0.5, weightDecay: 0.1 }).apply(kernels, zero, 1);
  assert.equal(kernels.get('d0/kernel')?.[0], Math.fround(1 - 0.05));
  assert.equal(kernels.get('d0/bias')?.[0], 1);
  const all = start();
  new HostOptimizer({ type: 'sgd', learningRate: 0.5, weightDecay: 0.1, weightDecayScope: 'all' }).apply(
    all,
    zero,
    1,
  );
  assert.equal(all.get('d0/bias')?.[0], Math.fround(1 - 0.05));
});
