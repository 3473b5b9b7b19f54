// Over 400 lines: one integration suite per service contract, sharing one set of running servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { encodeTensor, isServiceError, parameterServerClient, startGrpcServer, unary } from '@distrain/core';
import { ParameterClient, createPsMetrics, initialParameters } from '@distrain/core/ps';
import { Registry } from 'prom-client';
import type { OptimizerConfig, ParamMap, RunningGrpcServer, VariableInfo } from '@distrain/core';
import { ParameterServerService } from '../../services/parameter-server/src/ps-service.ts';
import type { ParameterServerOptions } from '../../services/parameter-server/src/ps-service.ts';

const VARS: VariableInfo[] = [
  { name: 'd0/kernel', shape: [4, 3], initializer: 'glorotUniform', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'd0/bias', shape: [3], initializer: 'zeros', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'bn/moving_mean', shape: [3], initializer: 'zeros', fanIn: 3, fanOut: 3, trainable: false },
  { name: 'd1/kernel', shape: [3, 2], initializer: 'heNormal', fanIn: 3, fanOut: 2, trainable: true },
];
// 16-byte parts: variables are cut into several parts spread over the shards.
const MAX_PART = 16;
const SGD: OptimizerConfig = { type: 'sgd', learningRate: 0.5 };

interface Cluster {
  services: ParameterServerService[];
  servers: RunningGrpcServer[];
  addresses: string[];
  close(): Promise<void>;
}

async function cluster(shards: number, options: ParameterServerOptions = {}): Promise<Cluster> {
  const services: ParameterServerService[] = [];
  const servers: RunningGrpcServer[] = [];
  for (let i = 0; i < shards; i++) {
    const service = new ParameterServerService({ shardIndex: i, ...options });
    services.push(service);
    servers.push(await startGrpcServer({ services: [service.binding()] }));
  }
  return {
    services,
    servers,
    addresses: servers.map((s) => s.address),
    close: async () => {
      await Promise.all(services.map((s) => s.close()));
      await Promise.all(servers.map((s) => s.shutdown(1_000)));
    },
  };
}

function client(
  c: Cluster,
  jobId: string,
  extra: Partial<ConstructorParameters<typeof ParameterClient>[0]> = {},
): ParameterClient {
  return new ParameterClient({
    jobId,
    shardAddresses: c.addresses,
    variables: VARS,
    maxPartBytes: MAX_PART,
    timeoutMs: 5_000,
    ...extra,
  });
}

/** A deterministic gradient map per rank. */
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
const states = (value: number): ParamMap =>
  new Map([['bn/moving_mean', Float32Array.from([value, value, value])]]);

function copy(p: ParamMap): ParamMap {
  return new Map([...p].map(([k, v]) => [k, v.slice()]));
}

function assertClose(a: ParamMap, b: ParamMap, tol = 1e-6): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, x] of a) {
    const y = b.get(k) as Float32Array;
    for (let i = 0; i < x.length; i++)
      assert.ok(Math.abs((x[i] as number) - (y[i] as number)) <= tol, `${k}[${i}] ${x[i]} vs ${y[i]}`);
  }
}

async function rejectsWith(p: Promise<unknown>, code: GrpcStatus, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isServiceError(err), String(err));
    assert.equal(err.code, code, `${GrpcStatus[err.code]}: ${err.details}`);
    if (re) assert.match(err.details, re);
    return true;
  });
}

void test('init: identical across 1/2/3 shards and equal to initialParameters; idempotent; ALREADY_EXISTS on a different spec', async () => {
  const expected = initialParameters(VARS, 11);
  for (const shards of [1, 2, 3]) {
    const c = await cluster(shards);
    const ps = client(c, 'init');
    try {
      assert.deepEqual(await ps.init({ seed: 11, optimizer: SGD, worldSize: 2, stepsPerEpoch: 10 }), {
        version: 0,
        resumedEpochs: 0,
      });
      assert.deepEqual(await ps.init({ seed: 11, optimizer: SGD, worldSize: 2, stepsPerEpoch: 10 }), {
        version: 0,
        resumedEpochs: 0,
      });
      const { version, params } = await ps.pull();
      assert.equal(version, 0);
      assert.deepEqual(params, expected);
      if (shards > 1)
        assert.ok(
          c.services.every((s) => s.heldBytes() > 0),
          'parts spread over every shard',
        );
      await rejectsWith(
        ps.init({ seed: 12, optimizer: SGD, worldSize: 2, stepsPerEpoch: 10 }),
        GrpcStatus.ALREADY_EXISTS,
      );
      // Checked on the client before anything is sent (the server applies the same validation).
      await assert.rejects(
        ps.init({ seed: 11, optimizer: { type: 'sgd', learningRate: -1 }, worldSize: 2, stepsPerEpoch: 10 }),
        {
          name: 'ValidationError',
          message: /learningRate/,
        },
      );
    } finally {
      ps.close();
      await c.close();
    }
  }
});

void test('barrier: 2 ranks, rank-order sum / total samples, BN states averaged by samples, duplicate push not applied twice', async () => {
  const c = await cluster(2);
  const ps = client(c, 'barrier');
  try {
    await ps.init({ seed: 3, optimizer: SGD, worldSize: 2, stepsPerEpoch: 100 });
    const p0 = initialParameters(VARS, 3);
    const g0 = grads(0, 0);
    const g1 = grads(1, 0);
    const [r0, r1] = await Promise.all([
      ps.pushPull({ rank: 0, step: 0, sampleCount: 1, grads: g0, states: states(1), lossSum: 2 }),
      ps.pushPull({ rank: 1, step: 0, sampleCount: 3, grads: g1, states: states(5), lossSum: 6 }),
    ]);
    assert.equal(r0.version, 1);
    assert.equal(r1.version, 1);
    assert.equal(r0.meanLoss, 2);
    assert.equal(r0.ranks, 2);
    const expected: ParamMap = new Map();
    for (const v of VARS) {
      const p = p0.get(v.name) as Float32Array;
      if (!v.trainable) {
        expected.set(
          v.name,
          Float32Array.from(p, () => (1 * 1 + 5 * 3) / 4),
        );
        continue;
      }
      const a = g0.get(v.name) as Float32Array;
      const b = g1.get(v.name) as Float32Array;
      expected.set(
        v.name,
        Float32Array.from(p, (x, i) => x - 0.5 * (((a[i] as number) + (b[i] as number)) / 4)),
      );
    }
    assertClose(r0.params, expected);
    const after = copy(r0.params);

    // Retry of an applied (rank, step): same version, same values, not applied again.
    const dup = await ps.pushPull({
      rank: 0,
      step: 0,
      sampleCount: 1,
      grads: g0,
      states: states(1),
      lossSum: 2,
    });
    assert.equal(dup.version, 1);
    assertClose(dup.params, after, 0);
    assert.deepEqual((await ps.pull()).params, after);

    // A duplicate push for the pending step replaces nothing and waits with the first one.
    const first = ps.pushPull({
      rank: 0,
      step: 1,
      sampleCount: 2,
      grads: grads(0, 1),
      states: states(0),
      lossSum: 0,
    });
    const second = client(c, 'barrier').pushPull({
      rank: 0,
      step: 1,
      sampleCount: 2,
      grads: grads(9, 9),
      states: states(0),
      lossSum: 0,
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.services[0]?.version('barrier'), 1, 'still waiting for rank 1');
    const third = client(c, 'barrier').pushPull({
      rank: 1,
      step: 1,
      sampleCount: 2,
      grads: grads(1, 1),
      states: states(0),
      lossSum: 0,
    });
    const results = await Promise.all([first, second, third]);
    assert.deepEqual(
      results.map((r) => r.version),
      [2, 2, 2],
    );
    const g01 = grads(0, 1);
    const g11 = grads(1, 1);
    const k = after.get('d0/kernel') as Float32Array;
    const want = Float32Array.from(
      k,
      (x, i) =>
        x -
        (0.5 *
          (((g01.get('d0/kernel') as Float32Array)[i] as number) +
            ((g11.get('d0/kernel') as Float32Array)[i] as number))) /
          4,
    );
    assertClose(
      new Map([['d0/kernel', (await ps.pull()).params.get('d0/kernel') as Float32Array]]),
      new Map([['d0/kernel', want]]),
    );
  } finally {
    ps.close();
    await c.close();
  }
});

void test('SetMembers evicting a rank lets the pending step finish; the evicted rank is refused', async () => {
  const c = await cluster(2);
  const ps = client(c, 'evict');
  try {
    await ps.init({ seed: 1, optimizer: SGD, worldSize: 2, stepsPerEpoch: 100 });
    const p0 = initialParameters(VARS, 1);
    const pending = ps.pushPull({
      rank: 0,
      step: 0,
      sampleCount: 2,
      grads: grads(0, 0),
      states: states(0),
      lossSum: 1,
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await ps.setMembers([0]), 1, 'the step completed at once');
    const r = await pending;
    assert.equal(r.version, 1);
    assert.equal(r.ranks, 1);
    const g = grads(0, 0).get('d1/kernel') as Float32Array;
    const want = Float32Array.from(
      p0.get('d1/kernel') as Float32Array,
      (x, i) => x - (0.5 * (g[i] as number)) / 2,
    );
    assertClose(
      new Map([['d1/kernel', r.params.get('d1/kernel') as Float32Array]]),
      new Map([['d1/kernel', want]]),
    );
    await rejectsWith(
      ps.pushPull({ rank: 1, step: 1, sampleCount: 2, grads: grads(1, 1), states: states(0), lossSum: 1 }),
      GrpcStatus.FAILED_PRECONDITION,
      /rank/,
    );
  } finally {
    ps.close();
    await c.close();
  }
});

void test('deadline on a never-filled barrier: DEADLINE_EXCEEDED, state consistent, a later full step works and counts each rank once', async () => {
  const c = await cluster(2);
  const fast = client(c, 'deadline', { timeoutMs: 300, retries: 0 });
  const ps = client(c, 'deadline');
  try {
    await ps.init({ seed: 5, optimizer: SGD, worldSize: 2, stepsPerEpoch: 100 });
    const t0 = Date.now();
    await rejectsWith(
      fast.pushPull({ rank: 0, step: 0, sampleCount: 1, grads: grads(0, 0), states: states(0), lossSum: 0 }),
      GrpcStatus.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - t0 < 3_000);
    assert.equal(c.services[0]?.version('deadline'), 0);
    const [a, b] = await Promise.all([
      ps.pushPull({ rank: 0, step: 0, sampleCount: 1, grads: grads(0, 0), states: states(0), lossSum: 0 }),
      ps.pushPull({ rank: 1, step: 0, sampleCount: 1, grads: grads(1, 0), states: states(0), lossSum: 0 }),
    ]);
    assert.equal(a.version, 1);
    assert.equal(b.version, 1);
    const p0 = initialParameters(VARS, 5).get('d0/bias') as Float32Array;
    const want = Float32Array.from(
      p0,
      (x, i) =>
        x -
        (0.5 *
          (((grads(0, 0).get('d0/bias') as Float32Array)[i] as number) +
            ((grads(1, 0).get('d0/bias') as Float32Array)[i] as number))) /
          2,
    );
    assertClose(new Map([['b', a.params.get('d0/bias') as Float32Array]]), new Map([['b', want]]));
  } finally {
    fast.close();
    ps.close();
    await c.close();
  }
});

void test('EndJob aborts waiting pushes with ABORTED, frees memory, and is idempotent', async () => {
  const c = await cluster(2);
  const ps = client(c, 'end');
  try {
    await ps.init({
      seed: 1,
      optimizer: { type: 'adam', learningRate: 0.01 },
      worldSize: 2,
      stepsPerEpoch: 100,
    });
    const held = c.services.reduce((a, s) => a + s.heldBytes('end'), 0);
    assert.equal(
      held,
      (12 + 3 + 3 + 6) * 4 + (12 + 3 + 6) * 4 * 2 + (12 + 3 + 6) * 4 * 2,
      'params + adam m and v + a staged gradient per rank (world size 2)',
    );
    const waiting = ps.pushPull({
      rank: 0,
      step: 0,
      sampleCount: 1,
      grads: grads(0, 0),
      states: states(0),
      lossSum: 0,
    });
    const aborted = rejectsWith(waiting, GrpcStatus.ABORTED, /ended/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await ps.endJob(), held);
    await aborted;
    assert.equal(
      c.services.reduce((a, s) => a + s.heldBytes(), 0),
      0,
    );
    assert.deepEqual(
      c.services.flatMap((s) => s.jobIds()),
      [],
    );
    assert.equal(await ps.endJob(), 0);
    await rejectsWith(ps.pull(), GrpcStatus.NOT_FOUND);
  } finally {
    ps.close();
    await c.close();
  }
});

void test('epoch snapshots: Pull{epoch} waits for the epoch end, release frees it, deadline when not ready', async () => {
  const c = await cluster(2, { releaseGraceMs: 50 });
  const ps = client(c, 'snap');
  try {
    await ps.init({ seed: 2, optimizer: SGD, worldSize: 1, stepsPerEpoch: 2 });
    await rejectsWith(ps.pull({ epoch: 1, timeoutMs: 100 }), GrpcStatus.DEADLINE_EXCEEDED);
    const snapshot = ps.pull({ epoch: 1, release: true });
    const r1 = await ps.pushPull({
      rank: 0,
      step: 0,
      sampleCount: 1,
      grads: grads(0, 0),
      states: states(0),
      lossSum: 0,
    });
    const atEpoch = copy(
      (
        await ps.pushPull({
          rank: 0,
          step: 1,
          sampleCount: 1,
          grads: grads(0, 1),
          states: states(0),
          lossSum: 0,
        })
      ).params,
    );
    assert.equal(r1.version, 1);
    await ps.pushPull({
      rank: 0,
      step: 2,
      sampleCount: 1,
      grads: grads(0, 2),
      states: states(0),
      lossSum: 0,
    }); // training goes on
    const s = await snapshot;
    assert.equal(s.version, 2);
    assert.deepEqual(s.params, atEpoch);
    await new Promise((r) => setTimeout(r, 150));
    await rejectsWith(ps.pull({ epoch: 1 }), GrpcStatus.NOT_FOUND, /released/);
  } finally {
    ps.close();
    await c.close();
  }
});

void test('checkpoint per epoch and resume: an interrupted run continues exactly like an uninterrupted one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'distrain-ps-'));
  const adam: OptimizerConfig = { type: 'adam', learningRate: 0.01 };
  const step = (ps: ParameterClient, s: number) =>
    Promise.all(
      [0, 1].map((rank) =>
        ps.pushPull({
          rank,
          step: s,
          sampleCount: 2,
          grads: grads(rank, s),
          states: states(s + rank),
          lossSum: 1,
        }),
      ),
    );
  try {
    const a = await cluster(2);
    const ref = client(a, 'ref');
    await ref.init({ seed: 4, optimizer: adam, worldSize: 2, stepsPerEpoch: 1 });
    for (let s = 0; s < 3; s++) await step(ref, s);
    const want = (await ref.pull()).params;
    ref.close();
    await a.close();

    const b = await cluster(2);
    const first = client(b, 'ckpt');
    await first.init({
      seed: 4,
      optimizer: adam,
      worldSize: 2,
      stepsPerEpoch: 1,
      checkpointDir: dir,
      resume: true,
    });
    for (let s = 0; s < 2; s++) await step(first, s);
    await first.endJob(); // waits for checkpoint writes
    first.close();
    await b.close();

    const c = await cluster(2);
    const second = client(c, 'ckpt');
    assert.deepEqual(
      await second.init({
        seed: 4,
        optimizer: adam,
        worldSize: 2,
        stepsPerEpoch: 1,
        checkpointDir: dir,
        resume: true,
      }),
      {
        version: 2,
        resumedEpochs: 2,
      },
    );
    await step(second, 2);
    assertClose((await second.pull()).params, want, 0);
    second.close();
    await c.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('bad input is refused with the right code naming the field, and the server stays up', async () => {
  const c = await cluster(1);
  const ps = client(c, 'bad');
  const raw = parameterServerClient(c.addresses[0] as string);
  try {
    await ps.init({ seed: 1, optimizer: SGD, worldSize: 2, stepsPerEpoch: 10 });
    const good = encodeTensor(new Float32Array(4), [4]);
    const push = (over: object) =>
      unary(
        raw,
        raw.pushPull,
        { jobId: 'bad', rank: 0, step: 0, sampleCount: 0, ...over },
        { timeoutMs: 2_000 },
      );
    await rejectsWith(push({ jobId: 'nope' }), GrpcStatus.NOT_FOUND, /nope/);
    await rejectsWith(
      push({ grads: [{ name: 'zzz#0', tensor: good }] }),
      GrpcStatus.INVALID_ARGUMENT,
      /grads\[0\]\.name/,
    );
    await rejectsWith(
      push({ grads: [{ name: 'd0/kernel#0', tensor: encodeTensor(new Float32Array(3), [3]) }] }),
      GrpcStatus.INVALID_ARGUMENT,
      /grads\[0\]\.tensor/,
    );
    await rejectsWith(
      push({
        grads: [
          { name: 'd0/kernel#0', tensor: { dtype: 'DTYPE_FLOAT32', shape: [4], data: Buffer.alloc(3) } },
        ],
      }),
      GrpcStatus.INVALID_ARGUMENT,
    );
    await rejectsWith(
      push({ states: [{ name: 'd0/kernel#0', tensor: good }] }),
      GrpcStatus.INVALID_ARGUMENT,
      /states\[0\]\.name/,
    );
    await rejectsWith(push({ sampleCount: 3 }), GrpcStatus.INVALID_ARGUMENT, /grads: missing part/);
    await rejectsWith(
      push({ rank: 7 }),
      GrpcStatus.INVALID_ARGUMENT,
      /rank: must be below the job's world size/,
    );
    await rejectsWith(push({ step: 5 }), GrpcStatus.FAILED_PRECONDITION, /ahead/);
    await rejectsWith(
      unary(raw, raw.setMembers, { jobId: 'bad', ranks: [] }),
      GrpcStatus.INVALID_ARGUMENT,
      /ranks/,
    );
    await rejectsWith(
      unary(raw, raw.initJob, { jobId: 'x', variables: [] }),
      GrpcStatus.INVALID_ARGUMENT,
      /variables/,
    );
    await rejectsWith(unary(raw, raw.endJob, { jobId: '' }), GrpcStatus.INVALID_ARGUMENT, /job_id/);
    // Still serving: a full step works.
    const rs = await Promise.all(
      [0, 1].map((rank) =>
        ps.pushPull({ rank, step: 0, sampleCount: 1, grads: grads(rank, 0), states: states(0), lossSum: 0 }),
      ),
    );
    assert.equal(rs[0]?.version, 1);
  } finally {
    raw.close();
    ps.close();
    await c.close();
  }
});

void test('metrics: version gauge and aggregate histogram per job and shard, series dropped at EndJob', async () => {
  const registry = new Registry();
  const c = await cluster(1, { observer: createPsMetrics(registry, 0) });
  const ps = client(c, 'metrics');
  try {
    await ps.init({ seed: 1, optimizer: SGD, worldSize: 1, stepsPerEpoch: 10 });
    await ps.pushPull({
      rank: 0,
      step: 0,
      sampleCount: 1,
      grads: grads(0, 0),
      states: states(0),
      lossSum: 0,
    });
    await assert.rejects(
      ps.pushPull({ rank: 3, step: 1, sampleCount: 1, grads: grads(0, 0), states: states(0), lossSum: 0 }),
    );
    const text = await registry.metrics();
    assert.match(text, /distrain_ps_version\{job_id="metrics",shard="0"\} 1/);
    assert.match(text, /distrain_ps_aggregate_seconds_count\{job_id="metrics",shard="0"\} 1/);
    // A rank beyond the world size: refused with its reason (push-validation.ts).
    assert.match(text, /distrain_ps_rejected_total\{reason="rank",shard="0"\} 1/);
    assert.doesNotMatch(text, /[{,](job|instance)=/);
    await ps.endJob();
    assert.doesNotMatch(await registry.metrics(), /job_id="metrics"/);
  } finally {
    ps.close();
    await c.close();
  }
});
