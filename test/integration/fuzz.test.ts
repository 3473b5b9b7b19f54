/**
 * The mutation fuzz suite (issue 13): real service processes on loopback (coordinator JobService and
 * WorkerService, data-loader, one parameter-server shard over gRPC and over its ZeroMQ data plane),
 * 10,000 seeded mutated calls each (`DISTRAIN_FUZZ_CALLS`, `DISTRAIN_FUZZ_SEED`), every call with a
 * deadline. Asserts: no INTERNAL or UNKNOWN status, no call past its deadline, every process alive and
 * SERVING afterwards; plus the poison cases of the issue by hand (/etc/passwd, /dev/zero, world_size
 * 2^32, unknown ids on streams, a 100 KB echoed value). Prints the status codes per service.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/grpc-js';
import { distrainProto } from '@distrain/core';
import { optimizerToSpec } from '@distrain/core/ps';
import { TEST_TOKEN, startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';
import { FuzzReport, FuzzRng, RawGrpc, RawZmq, fuzzBytes, runPool, targetsOf } from '../support/fuzz.ts';
import type { FuzzTarget } from '../support/fuzz.ts';

const CALLS = Number(process.env.DISTRAIN_FUZZ_CALLS ?? 10_000);
const SEED = Number(process.env.DISTRAIN_FUZZ_SEED ?? 13);
const DEADLINE_MS = 1_000;
const CONCURRENCY = 48;
/**
 * The credential every call carries: the deployment token, which every service accepts for every
 * method (service calls and any job's worker calls), so the mutated bodies reach the handlers
 * (refused credentials are `test/integration/auth.test.ts`).
 */
const metadata = (): Metadata => {
  const m = new Metadata();
  m.set('authorization', `Bearer ${TEST_TOKEN}`);
  return m;
};

let loader: ServiceProcess;
let ps: ServiceProcess;
let coordinator: ServiceProcess;
const reports: FuzzReport[] = [];

before(async () => {
  [loader, ps] = await Promise.all([
    startService('data-loader', ['--port', '0', '--dataset-cache-bytes', String(64 * 1024 * 1024)]),
    startService('parameter-server', [
      '--port',
      '0',
      '--data-plane',
      'zmq',
      '--max-held-bytes',
      String(64 * 1024 * 1024),
    ]),
  ]);
  // Budgets no spec can meet: a mutated spec that happens to stay valid can never launch workers.
  coordinator = await startService('coordinator', [
    '--port',
    '0',
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    `127.0.0.1:${ps.port}`,
    '--max-layers',
    '1',
    '--max-parameters',
    '1',
  ]);
});

after(async () => {
  for (const r of reports) process.stderr.write(`fuzz ${r.summary()}\n`);
  await Promise.all([coordinator?.stop(), loader?.stop(), ps?.stop()]);
});

type Definition = Record<string, MethodDefinition<unknown, unknown>>;
const proto = distrainProto();
const def = (
  name: 'JobService' | 'WorkerService' | 'DataLoaderService' | 'ParameterServerService',
): Definition => proto[name].service as unknown as Definition;

/** Fuzzes `targets` on `address` with CALLS calls; asserts the report and the server's health. */
async function fuzzGrpc(
  name: string,
  address: string,
  targets: FuzzTarget[],
  child: ServiceProcess,
): Promise<FuzzReport> {
  const rng = new FuzzRng(SEED);
  const client = new RawGrpc(address, metadata);
  const report = new FuzzReport(name);
  reports.push(report);
  // Each request is drawn when its call starts (synchronously, so the sequence is the seed's).
  await runPool(CALLS, CONCURRENCY, async () => {
    const t = rng.pick(targets);
    const bytes = fuzzBytes(t, rng);
    report.add(t.path, await client.call(t.path, t.stream, bytes, DEADLINE_MS), DEADLINE_MS);
  });
  assert.equal(child.child.exitCode, null, `${name} exited: ${child.log()}`);
  assert.ok(await client.healthy(), `${name} is not SERVING after the fuzz`);
  client.close();
  assert.deepEqual(report.internal.slice(0, 10), [], `${name}: INTERNAL/UNKNOWN for client mistakes`);
  assert.deepEqual(report.late.slice(0, 10), [], `${name}: calls past their deadline`);
  assert.equal(report.calls, CALLS);
  return report;
}

const SPEC = `apiVersion: distrain.io/v1
kind: TrainingJob
metadata: { name: fz }
spec:
  dataset: { name: mnist, sampleCount: 100 }
  model: { layers: [ { type: flatten }, { type: dense, units: 10 } ] }
  loss: softmaxCrossEntropy
  optimizer: { type: sgd, learningRate: 0.1 }
  batchSize: 16
  epochs: 1
`;

test(
  'coordinator: JobService and WorkerService survive 10,000 mutated calls each',
  { timeout: 120_000 },
  async () => {
    const address = `127.0.0.1:${coordinator.port}`;
    const jobs = targetsOf(def('JobService'), {
      SubmitJob: [{ spec: SPEC }],
      GetJob: [{ id: 'fz-nope' }],
      ListJobs: [{ state: 'JOB_STATE_UNSPECIFIED' }, { state: 'JOB_STATE_RUNNING' }],
      WatchJob: [{ id: 'fz-nope' }],
      CancelJob: [{ id: 'fz-nope', reason: 'fuzz' }],
      GetPredictions: [{ id: 'fz-nope' }],
      ExportModel: [{ id: 'fz-nope' }],
    });
    const progress = {
      epoch: 1,
      stepInEpoch: 2,
      stepsPerEpoch: 5,
      globalStep: 7,
      totalSteps: 10,
      loss: 0.5,
      samplesPerSecond: 10,
      learningRate: 0.1,
    };
    const workers = targetsOf(def('WorkerService'), {
      Heartbeat: [
        {
          jobId: 'fz-nope',
          role: 'trainer',
          rank: 0,
          progress,
          status: 'running',
          message: '',
          backend: 'wasm',
          metricsPort: 0,
        },
      ],
      ReportEvaluation: [
        {
          jobId: 'fz-nope',
          result: {
            epoch: 1,
            version: 5,
            testAccuracy: 0.9,
            testLoss: 0.3,
            numSamples: 10,
            perClassAccuracy: [0.9, 0.8],
            confusion: [1, 2, 3, 4],
            numClasses: 2,
          },
          predictionsCsv: Buffer.from('index,label,predicted\n0,1,1\n'),
        },
      ],
    });
    await fuzzGrpc('coordinator JobService', address, jobs, coordinator);
    await fuzzGrpc('coordinator WorkerService', address, workers, coordinator);

    // By hand: streams on an unknown id answer NOT_FOUND at once; a 100 KB value is not echoed and
    // leaves the channel usable.
    const client = new RawGrpc(address, metadata);
    for (const m of ['WatchJob', 'GetPredictions', 'ExportModel'] as const) {
      const d = def('JobService')[m] as MethodDefinition<unknown, unknown>;
      const res = await client.call(
        d.path,
        true,
        d.requestSerialize({ id: 'does-not-exist' }) as Buffer,
        10_000,
      );
      assert.equal(res.code, GrpcStatus.NOT_FOUND, `${m}: ${res.details}`);
      assert.ok(res.ms < 1_000, `${m} took ${res.ms} ms`);
    }
    const hb = def('WorkerService').Heartbeat as MethodDefinition<unknown, unknown>;
    const big = await client.call(
      hb.path,
      false,
      hb.requestSerialize({ jobId: 'j'.repeat(100_000), role: 'trainer' }) as Buffer,
      5_000,
    );
    assert.equal(big.code, GrpcStatus.INVALID_ARGUMENT, big.details);
    assert.ok(big.details.length < 1_100, `${big.details.length} characters echoed`);
    const list = def('JobService').ListJobs as MethodDefinition<unknown, unknown>;
    assert.equal(
      (await client.call(list.path, false, list.requestSerialize({}) as Buffer, 5_000)).code,
      GrpcStatus.OK,
    );
    client.close();
  },
);

test(
  'data-loader: 10,000 mutated calls; /etc/passwd and /dev/zero are refused',
  { timeout: 120_000 },
  async () => {
    const address = `127.0.0.1:${loader.port}`;
    const dataset = { name: 'mnist', sampleCount: 100 };
    const targets = targetsOf(def('DataLoaderService'), {
      DescribeDataset: [
        { dataset, includeText: false },
        { dataset: { name: 'csv', path: 'examples/does-not-exist.csv' } },
      ],
      StreamBatches: [
        {
          jobId: 'fz',
          dataset,
          split: 'SPLIT_TRAIN',
          epoch: 0,
          rank: 0,
          worldSize: 2,
          globalBatchSize: 16,
          seed: 1,
          startStep: 0,
          endStep: 0,
        },
        {
          jobId: 'fz',
          dataset,
          split: 'SPLIT_TEST',
          epoch: 0,
          rank: 0,
          worldSize: 1,
          globalBatchSize: 8,
          seed: 1,
          startStep: 1,
          endStep: 2,
        },
      ],
      ReleaseJob: [{ jobId: 'fz' }],
    });
    await fuzzGrpc('data-loader', address, targets, loader);

    const client = new RawGrpc(address, metadata);
    const describe = def('DataLoaderService').DescribeDataset as MethodDefinition<unknown, unknown>;
    for (const path of ['/etc/passwd', '/dev/zero']) {
      const res = await client.call(
        describe.path,
        false,
        describe.requestSerialize({ dataset: { name: 'csv', path } }) as Buffer,
        5_000,
      );
      assert.equal(res.code, GrpcStatus.INVALID_ARGUMENT, `${path}: ${res.details}`);
      assert.match(
        res.details,
        /dataset\.path: .*(outside this data-loader's data roots|not a regular file)/,
      );
      assert.doesNotMatch(res.details, /root:/);
    }
    client.close();
  },
);

const W = Buffer.alloc(48);
new Float32Array(W.buffer, W.byteOffset, 12).fill(0.01);
const B = Buffer.alloc(12);
const push = (rank: number, step: number) => ({
  jobId: 'fz',
  rank,
  step,
  sampleCount: 4,
  grads: [
    { name: 'w#0', tensor: { dtype: 'DTYPE_FLOAT32', shape: [12], data: W } },
    { name: 'b#0', tensor: { dtype: 'DTYPE_FLOAT32', shape: [3], data: B } },
  ],
  states: [],
  lossSum: 1,
});

test(
  'parameter server: 10,000 mutated gRPC calls and 10,000 ZeroMQ requests',
  { timeout: 150_000 },
  async () => {
    const address = `127.0.0.1:${ps.port}`;
    const psDef = def('ParameterServerService');
    const init = {
      jobId: 'fz',
      seed: 1,
      variables: [
        {
          name: 'w',
          shape: [4, 3],
          initializer: 'INITIALIZER_GLOROT_UNIFORM',
          fanIn: 4,
          fanOut: 3,
          trainable: true,
        },
        { name: 'b', shape: [3], initializer: 'INITIALIZER_ZEROS', fanIn: 4, fanOut: 3, trainable: true },
      ],
      optimizer: optimizerToSpec({ type: 'sgd', learningRate: 0.1 }),
      worldSize: 2,
      stepsPerEpoch: 10,
      shardIndex: 0,
      shardCount: 1,
      checkpointDir: '',
      resume: false,
      maxPartBytes: 0,
      shardAddresses: [],
      initialValues: [],
    };
    const client = new RawGrpc(address, metadata);
    const initDef = psDef.InitJob as MethodDefinition<unknown, unknown>;
    assert.equal(
      (await client.call(initDef.path, false, initDef.requestSerialize(init) as Buffer, 5_000)).code,
      GrpcStatus.OK,
    );
    // world_size 2^32 aborted the shard with a heap out-of-memory before.
    const huge = await client.call(
      initDef.path,
      false,
      initDef.requestSerialize({ ...init, jobId: 'fz-2', worldSize: 2 ** 32 - 1 }) as Buffer,
      5_000,
    );
    assert.equal(huge.code, GrpcStatus.INVALID_ARGUMENT, huge.details);
    assert.match(huge.details, /^world_size: /);
    // Mutations never point a job's checkpoints at a path (that is the coordinator's to choose).
    const serializeInit = (v: unknown): Buffer =>
      initDef.requestSerialize({ ...(v as object), checkpointDir: '' }) as Buffer;
    const targets: FuzzTarget[] = [
      ...targetsOf(psDef, {
        PushPull: [push(0, 0), push(1, 0), push(0, 1)],
        Pull: [
          { jobId: 'fz', epoch: 0, release: false },
          { jobId: 'fz', epoch: 1, release: true },
        ],
        SetMembers: [{ jobId: 'fz', ranks: [0, 1] }],
        EndJob: [{ jobId: 'fz-other' }],
        ShareNorms: [{ jobId: 'fz', step: 0, shardIndex: 0, sumSquares: [1, 2] }],
        DataPlane: [{}],
      }),
      { path: initDef.path, stream: false, bases: [init], serialize: serializeInit },
    ];
    await fuzzGrpc('parameter-server gRPC', address, targets, ps);

    // The ZeroMQ data plane: the same messages as frames, frames damaged too.
    const dataPort = Number(ps.listening.dataPort);
    assert.ok(dataPort > 0, JSON.stringify(ps.listening));
    const zmq = await RawZmq.connect('127.0.0.1', dataPort);
    const rng = new FuzzRng(SEED + 1);
    const report = new FuzzReport('parameter-server ZeroMQ');
    reports.push(report);
    const pp = targets.filter((t) => /\/(PushPull|Pull|ExchangeStats)$/.test(t.path));
    const PAD = Buffer.alloc(5);
    await runPool(CALLS, CONCURRENCY, async () => {
      const t = rng.pick(pp);
      const method = t.path.slice(t.path.lastIndexOf('/') + 1);
      let frames: (string | Buffer)[] = [
        method,
        '',
        TEST_TOKEN,
        String(200 + rng.int(600)),
        Buffer.concat([PAD, fuzzBytes(t, rng)]),
      ];
      if (rng.chance(0.2)) {
        const f = rng.int(5);
        const bad = rng.pick(['', '0', '-1', 'NaN', '1e12', 'x'.repeat(5000), 'Pull', 'InitJob']);
        frames[f === 1 ? 0 : f] = f === 4 ? Buffer.from(bad) : bad;
      }
      if (rng.chance(0.03)) frames = frames.slice(0, 1 + rng.int(4));
      // Data frames after the body (the zero-copy form): counts that rarely match the mutated body.
      if (rng.chance(0.15))
        for (let k = 1 + rng.int(3); k > 0; k--)
          frames.push(rng.pick([Buffer.alloc(0), Buffer.alloc(48, 1), Buffer.alloc(4096, 255)]));
      // The shard answers a bad timeout frame at once (INVALID_ARGUMENT) and waits at most its
      // maxWaitMs (300 s) for a huge one: the client gives up after 3 s on those, not counted late.
      const timeout = Number(frames[3]);
      const deadline = timeout > 60_000 ? Number.POSITIVE_INFINITY : timeout > 0 ? timeout : DEADLINE_MS;
      report.add(method, await zmq.call(frames, Math.min(deadline, DEADLINE_MS) + 2_000), deadline);
    });
    zmq.close();
    assert.equal(ps.child.exitCode, null, ps.log());
    assert.ok(await client.healthy());
    assert.deepEqual(report.internal.slice(0, 10), [], 'ZeroMQ: INTERNAL/UNKNOWN for client mistakes');
    assert.deepEqual(report.late.slice(0, 10), [], 'ZeroMQ: calls past their deadline');
    client.close();
  },
);
