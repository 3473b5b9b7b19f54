import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isServiceError, startGrpcServer } from '@distrain/core';
import { ParameterClient } from '@distrain/core/ps';
import type { OptimizerConfig, ParamMap, RunningGrpcServer, VariableInfo } from '@distrain/core';
import { ParameterServerService } from '../../services/parameter-server/src/ps-service.ts';
import { startZmqDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';
import type { RunningDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';
import { silentLogger } from '@distrain/core';
import { NOOP_PS_OBSERVER, resolveOptimizerSchedule } from '@distrain/core/ps';
import { OwnSteps } from '../../services/trainer/src/own-step.ts';

// The ZeroMQ data plane against the gRPC path: same results, same errors, deadlines, a shard's data
// plane restarting on the same port.

const VARS: VariableInfo[] = [
  {
    name: 'd0/kernel',
    shape: [64, 32],
    initializer: 'glorotUniform',
    fanIn: 64,
    fanOut: 32,
    trainable: true,
  },
  { name: 'd0/bias', shape: [32], initializer: 'zeros', fanIn: 64, fanOut: 32, trainable: true },
  { name: 'bn/moving_mean', shape: [32], initializer: 'zeros', fanIn: 32, fanOut: 32, trainable: false },
];
const ADAM: OptimizerConfig = { type: 'adam', learningRate: 0.01 };

interface Shard {
  service: ParameterServerService;
  grpc: RunningGrpcServer;
  data: RunningDataPlane;
}

async function shard(index: number, dataPort = 0): Promise<Shard> {
  const service = new ParameterServerService({ shardIndex: index });
  const grpc = await startGrpcServer({ services: [service.binding()] });
  const data = await startZmqDataPlane(service, {
    host: '127.0.0.1',
    port: dataPort,
    logger: silentLogger(),
    observer: NOOP_PS_OBSERVER,
    maxWaitMs: 10_000,
  });
  service.dataPlane = { port: data.port, transport: 'zmq' };
  return { service, grpc, data };
}

async function closeAll(shards: Shard[]): Promise<void> {
  for (const s of shards) {
    await s.service.close();
    await s.data.close();
    await s.grpc.shutdown(1_000);
  }
}

function grads(rank: number, step: number): ParamMap {
  const m: ParamMap = new Map();
  for (const v of VARS.filter((x) => x.trainable)) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    m.set(
      v.name,
      Float32Array.from({ length: n }, (_, i) => Math.cos(i + rank * 3 + step * 5)),
    );
  }
  return m;
}

const states = (x: number): ParamMap => new Map([['bn/moving_mean', new Float32Array(32).fill(x)]]);

/** Two ranks, three steps, a snapshot pull: everything the trainers and the evaluator see. */
async function train(jobId: string, addresses: string[], dataPlane: 'grpc' | 'zmq') {
  const make = () =>
    new ParameterClient({
      jobId,
      shardAddresses: addresses,
      variables: VARS,
      maxPartBytes: 1024,
      timeoutMs: 5_000,
      dataPlane,
      token: 'job-secret',
    });
  const [a, b] = [make(), make()];
  try {
    await a.init({ seed: 3, optimizer: ADAM, worldSize: 2, stepsPerEpoch: 3 });
    const transports = await a.transports();
    let last: ParamMap = new Map();
    let loss = 0;
    for (let step = 0; step < 3; step++) {
      const [ra] = await Promise.all([
        a.pushPull({ rank: 0, step, sampleCount: 5, grads: grads(0, step), states: states(1), lossSum: 2 }),
        b.pushPull({ rank: 1, step, sampleCount: 3, grads: grads(1, step), states: states(2), lossSum: 1 }),
      ]);
      assert.equal(ra.version, step + 1);
      assert.ok(ra.timing.roundTripMs >= ra.timing.serverMs, 'server time is part of the round trip');
      assert.ok(ra.timing.applyMs > 0, 'the shard reports its aggregate+apply time');
      last = new Map([...ra.params].map(([k, v]) => [k, v.slice()]));
      loss = ra.meanLoss;
    }
    const snapshot = await a.pull({ epoch: 1, release: true });
    return { transports, last, loss, snapshot };
  } finally {
    a.close();
    b.close();
  }
}

void test('zmq data plane: the same parameters, loss and snapshot as gRPC, over 1 and 2 shards', async () => {
  for (const count of [1, 2]) {
    const shards = await Promise.all(Array.from({ length: count }, (_, i) => shard(i)));
    try {
      const addresses = shards.map((s) => s.grpc.address);
      const viaZmq = await train(`zmq-${count}`, addresses, 'zmq');
      const viaGrpc = await train(`grpc-${count}`, addresses, 'grpc');
      assert.deepEqual(viaZmq.transports, Array(count).fill('zmq'));
      assert.deepEqual(viaGrpc.transports, Array(count).fill('grpc'));
      assert.deepEqual(viaZmq.last, viaGrpc.last, 'bit-identical parameters');
      assert.equal(viaZmq.loss, viaGrpc.loss);
      assert.equal(viaZmq.loss, 3 / 8);
      assert.equal(viaZmq.snapshot.version, 3);
      assert.deepEqual(viaZmq.snapshot.params, viaGrpc.snapshot.params);
      assert.deepEqual(viaZmq.snapshot.params, viaZmq.last);
    } finally {
      await closeAll(shards);
    }
  }
});

void test('zmq data plane: errors keep their gRPC codes; a barrier that never fills ends at the deadline', async () => {
  const shards = [await shard(0)];
  const client = (jobId: string, timeoutMs: number) =>
    new ParameterClient({
      jobId,
      shardAddresses: [shards[0]!.grpc.address],
      variables: VARS,
      timeoutMs,
      retries: 0,
    });
  const unknown = client('nope', 2_000);
  const waiting = client('wait', 300);
  try {
    await assert.rejects(unknown.pull(), (err: unknown) => {
      assert.ok(isServiceError(err), String(err));
      assert.equal(err.code, GrpcStatus.NOT_FOUND);
      assert.match(err.details, /unknown job nope/);
      return true;
    });
    await waiting.init({ seed: 1, optimizer: ADAM, worldSize: 2, stepsPerEpoch: 10 });
    await assert.rejects(
      waiting.pushPull({
        rank: 0,
        step: 0,
        sampleCount: 1,
        grads: grads(0, 0),
        states: states(0),
        lossSum: 0,
      }),
      (err: unknown) => {
        assert.ok(isServiceError(err), String(err));
        assert.equal(err.code, GrpcStatus.DEADLINE_EXCEEDED);
        return true;
      },
    );
    await assert.rejects(
      waiting.pushPull({
        rank: 0,
        step: 5,
        sampleCount: 1,
        grads: grads(0, 0),
        states: states(0),
        lossSum: 0,
      }),
      (err: unknown) =>
        isServiceError(err) && err.code === GrpcStatus.FAILED_PRECONDITION && /ahead/.test(err.details),
    );
  } finally {
    unknown.close();
    waiting.close();
    await closeAll(shards);
  }
});

void test('zmq data plane: a shard data plane restarted on the same port is reached again by a retry', async () => {
  const s = await shard(0);
  const port = s.data.port;
  const ps = new ParameterClient({
    jobId: 'restart',
    shardAddresses: [s.grpc.address],
    variables: VARS,
    timeoutMs: 500,
    retries: 6,
  });
  try {
    await ps.init({ seed: 1, optimizer: ADAM, worldSize: 1, stepsPerEpoch: 10 });
    const step = (n: number) =>
      ps.pushPull({ rank: 0, step: n, sampleCount: 1, grads: grads(0, n), states: states(0), lossSum: 0 });
    assert.equal((await step(0)).version, 1);
    await s.data.close();
    const again = step(1); // sent while the shard's data plane is down: queued, then retried
    await new Promise((r) => setTimeout(r, 200));
    s.data = await startZmqDataPlane(s.service, {
      host: '127.0.0.1',
      port,
      logger: silentLogger(),
      observer: NOOP_PS_OBSERVER,
      maxWaitMs: 10_000,
    });
    assert.equal((await again).version, 2);
    assert.equal(s.service.version('restart'), 2, 'applied once');
  } finally {
    ps.close();
    await closeAll([s]);
  }
});

// Clipping that bites (the cosine-sum gradients have norms of about 5), a schedule and weight decay:
// the shards exchange part norms, the trainer sums them in plan order.
const CLIPPED: OptimizerConfig = {
  type: 'momentum',
  learningRate: 0.0513,
  nesterov: true,
  weightDecay: 0.01,
  clipNorm: 0.3,
  schedule: { type: 'cosine', warmupSteps: 2 },
};

void test('ackOnly: the only trainer applies its own steps, bit-identical to 2 shards; drift is caught; several ranks are refused', async () => {
  const shards = [await shard(0), await shard(1)];
  try {
    const addresses = shards.map((s) => `127.0.0.1:${s.grpc.port}`);
    for (const [dataPlane, optimizer] of [
      ['grpc', ADAM],
      ['zmq', ADAM],
      ['zmq', CLIPPED],
    ] as const) {
      const context = { stepsPerEpoch: 3, totalSteps: 6 };
      const client = new ParameterClient({
        jobId: `own-${dataPlane}-${optimizer.type}`,
        shardAddresses: addresses,
        variables: VARS,
        maxPartBytes: 1024, // d0/kernel in parts on both shards
        timeoutMs: 5_000,
        dataPlane,
        token: 'job-secret',
      });
      try {
        // The schedule resolved for the job's length, as the coordinator sends it.
        await client.init({
          seed: 3,
          optimizer: resolveOptimizerSchedule(optimizer, context),
          worldSize: 1,
          stepsPerEpoch: 3,
        });
        const start = await client.pull();
        const own = new OwnSteps(start.params, optimizer, context, client.plan);
        const step = async (s: number): Promise<'ok' | 'mismatch'> => {
          const g = grads(0, s);
          const st = states(s + 1);
          const sent = own.stage(g, st);
          assert.equal(own.apply(g, st, 5), true);
          own.send(client.pushPull({ rank: 0, step: s, sampleCount: 5, ...sent, lossSum: 2, ackOnly: true }));
          const { state, result } = await own.settle();
          assert.equal(result?.version, s + 1);
          assert.equal(result?.params.size, 0, 'no parameters travel back');
          return state;
        };
        for (let s = 0; s < 3; s++)
          assert.equal(await step(s), 'ok', `${dataPlane} ${optimizer.type} step ${s}`);
        // The shards' parameters (the evaluator's and checkpoints' copy) are the trainer's, bit for bit.
        const pulled = await client.pull();
        assert.equal(pulled.version, 3);
        for (const [name, v] of pulled.params) assert.deepEqual(v, own.params.get(name), name);
        // One bit of drift in the trainer's copy is caught at the next answer.
        const kernel = own.params.get('d0/kernel') as Float32Array;
        const bits = new Uint32Array(kernel.buffer, kernel.byteOffset, kernel.length);
        bits[7] = (bits[7] as number) ^ 1;
        assert.equal(await step(3), 'mismatch', `${dataPlane}: drift`);
      } finally {
        client.close();
      }
    }
    // With two ranks no trainer knows the aggregate: an ackOnly push is refused, naming the field.
    const two = new ParameterClient({
      jobId: 'own-two',
      shardAddresses: addresses,
      variables: VARS,
      timeoutMs: 5_000,
    });
    try {
      await two.init({ seed: 3, optimizer: ADAM, worldSize: 2, stepsPerEpoch: 3 });
      await assert.rejects(
        two.pushPull({
          rank: 0,
          step: 0,
          sampleCount: 5,
          grads: grads(0, 0),
          states: states(1),
          lossSum: 2,
          ackOnly: true,
        }),
        (err: unknown) =>
          isServiceError(err) && err.code === GrpcStatus.INVALID_ARGUMENT && /ackOnly/.test(err.details),
      );
    } finally {
      two.close();
    }
  } finally {
    await closeAll(shards);
  }
});
