// Poison and limits of one shard, transport-free: non-finite values, wrong shapes, out-of-range
// ranks, steps, sample counts and world sizes are refused with INVALID_ARGUMENT naming the field and
// counted by reason, and nothing of a refused push is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { LIMITS, ValidationError, encodeTensor, firstNonFinite, toGrpcStatus } from '@distrain/core';
import { optimizerToSpec, variableToSpec } from '@distrain/core/ps';
import type { VariableInfo } from '@distrain/core';
import type { InitJobRequest__Output, PushPullRequest__Output } from '@distrain/core/ps';
import { ParameterServerService } from './ps-service.ts';

const VARS: VariableInfo[] = [
  { name: 'd0/kernel', shape: [4, 3], initializer: 'glorotUniform', fanIn: 4, fanOut: 3, trainable: true },
  { name: 'd0/bias', shape: [3], initializer: 'zeros', fanIn: 4, fanOut: 3, trainable: true },
];

function initRequest(over: Partial<InitJobRequest__Output> = {}): InitJobRequest__Output {
  return {
    jobId: 'j',
    seed: 1,
    variables: VARS.map(variableToSpec),
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
    ...over,
  } as InitJobRequest__Output;
}

function push(over: Partial<PushPullRequest__Output> = {}, fill = 0.5): PushPullRequest__Output {
  return {
    jobId: 'j',
    rank: 0,
    step: 0,
    sampleCount: 4,
    lossSum: 1,
    grads: [
      { name: 'd0/kernel#0', tensor: encodeTensor(new Float32Array(12).fill(fill), [12]) },
      { name: 'd0/bias#0', tensor: encodeTensor(new Float32Array(3).fill(fill), [3]) },
    ],
    states: [],
    ...over,
  } as unknown as PushPullRequest__Output;
}

const ctx = () => ({ deadlineMs: Date.now() + 1_000 });

function refused(fn: () => unknown, field: RegExp, reason: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.match(err.field ?? '', field);
    assert.equal(err.reason, reason);
    assert.equal(toGrpcStatus(err).code, GrpcStatus.INVALID_ARGUMENT);
    return true;
  });
}

test('InitJob: world size, steps, shards and parameter count are bounded before any allocation', async () => {
  const ps = new ParameterServerService();
  const cases: [Partial<InitJobRequest__Output>, RegExp][] = [
    [{ worldSize: 2 ** 32 }, /^world_size$/],
    [{ worldSize: LIMITS.maxWorldSize + 1 }, /^world_size$/],
    [{ worldSize: 0 }, /^world_size$/],
    [{ stepsPerEpoch: 0 }, /^steps_per_epoch$/],
    [{ shardCount: 100_000 }, /^shard_count$/],
    [{ jobId: 'x'.repeat(100_000) }, /^job_id$/],
    [
      {
        variables: [variableToSpec({ ...(VARS[0] as VariableInfo), shape: [65536, 65536] })] as never,
      },
      /^variables\[0\]\.shape$/,
    ],
  ];
  for (const [over, field] of cases) {
    await assert.rejects(ps.initJob(initRequest(over)), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.match(err.field ?? '', field);
      assert.ok(err.message.length < 400, err.message);
      return true;
    });
  }
  assert.deepEqual(ps.jobIds(), []);
  await ps.close();
});

test('PushPull: poison is refused with the field and reason, and never applied', async () => {
  const ps = new ParameterServerService();
  await ps.initJob(initRequest());
  const before = (await ps.pull({ jobId: 'j', epoch: 0, release: false }, ctx())).params ?? [];
  const copy = before.map((p) => Buffer.from(p.tensor?.data as Uint8Array));
  const nan = push({}, Number.NaN);
  refused(() => ps.pushPull(nan, ctx()), /^grads\[0\]\.tensor$/, 'non_finite');
  refused(() => ps.pushPull(push({}, Number.POSITIVE_INFINITY), ctx()), /^grads\[0\]\.tensor$/, 'non_finite');
  refused(() => ps.pushPull(push({ lossSum: Number.NaN }), ctx()), /^loss_sum$/, 'non_finite');
  refused(() => ps.pushPull(push({ rank: 2 }), ctx()), /^rank$/, 'rank');
  refused(() => ps.pushPull(push({ rank: 2 ** 32 }), ctx()), /^rank$/, 'rank');
  refused(() => ps.pushPull(push({ step: 2 ** 53 - 1 }), ctx()), /^step$/, 'step');
  refused(() => ps.pushPull(push({ sampleCount: 2 ** 31 }), ctx()), /^sample_count$/, 'sample_count');
  const short = push();
  short.grads[1] = { name: 'd0/bias#0', tensor: encodeTensor(new Float32Array(2), [2]) } as never;
  refused(() => ps.pushPull(short, ctx()), /^grads\[1\]\.tensor$/, 'shape');
  refused(
    () => ps.pushPull(push({ grads: [push().grads[0], push().grads[0], push().grads[0]] as never }), ctx()),
    /^grads$/,
    'size',
  );
  // Nothing was applied: the parameters are byte-identical and the step is still 0.
  const after = (await ps.pull({ jobId: 'j', epoch: 0, release: false }, ctx())).params ?? [];
  after.forEach((p, i) => assert.ok(Buffer.from(p.tensor?.data as Uint8Array).equals(copy[i] as Buffer)));
  assert.equal(ps.version('j'), 0);
  // The rank that pushed NaN can push its real gradient for the same step; the step completes.
  const a = ps.pushPull(push({ rank: 0 }), ctx());
  const b = ps.pushPull(push({ rank: 1 }), ctx());
  const [ra] = await Promise.all([a, b]);
  assert.equal(ra.version, 1);
  for (const p of ra.params ?? []) {
    const d = p.tensor?.data as Uint8Array;
    assert.equal(firstNonFinite(new Float32Array(d.buffer, d.byteOffset, d.byteLength / 4)), -1);
  }
  // SetMembers and Pull bounds.
  assert.throws(() => ps.setMembers({ jobId: 'j', ranks: [0, 2 ** 32 - 1] }), /ranks\[1\]/);
  await assert.rejects(ps.pull({ jobId: 'j', epoch: 2 ** 32 - 1, release: false }, ctx()), /epoch/);
  await ps.close();
});

test('PushPull: a poisoned push staged beside a pending one is refused; the step applies exactly the good pushes', async () => {
  // Jobs of 1-2 ranks copy a counted push into its rank's staging arrays (the optimizer kernel's
  // memory) and check the copy; the refusal must leave the other rank's staged gradient intact.
  const run = async (poison: boolean): Promise<Buffer[]> => {
    const ps = new ParameterServerService();
    await ps.initJob(
      initRequest({ optimizer: optimizerToSpec({ type: 'adam', learningRate: 0.01 }) as never }),
    );
    const a = ps.pushPull(push({ rank: 0 }, 0.5), ctx());
    if (poison) {
      const bad = push({ rank: 1 }, 0.25);
      const data = new Float32Array(12).fill(0.25);
      data[7] = Number.NaN;
      bad.grads[0] = { name: 'd0/kernel#0', tensor: encodeTensor(data, [12]) } as never;
      assert.throws(
        () => ps.pushPull(bad, ctx()),
        (err: unknown) =>
          err instanceof ValidationError && err.reason === 'non_finite' && /at element 7;/.test(err.message),
      );
      // A NaN retry of the rank already counted (not staged: checked in JS) is refused too.
      refused(() => ps.pushPull(push({ rank: 0 }, Number.NaN), ctx()), /^grads\[0\]\.tensor$/, 'non_finite');
      assert.equal(ps.version('j'), 0);
    }
    const [res] = await Promise.all([a, ps.pushPull(push({ rank: 1 }, 0.25), ctx())]);
    assert.equal(res.version, 1);
    const out = (res.params ?? []).map((p) => Buffer.from(p.tensor?.data as Uint8Array));
    await ps.close();
    return out;
  };
  const clean = await run(false);
  const poisoned = await run(true);
  assert.deepEqual(poisoned, clean);
});

test('PushPull: a counted push with unaligned bytes is copied straight into its staging arrays, same result, poison still refused', async () => {
  // Float32 bytes at an odd offset (a gRPC message slice): decodeFloat32 would realign them first.
  const unaligned = (data: Float32Array): Uint8Array => {
    const raw = new Uint8Array(data.byteLength + 1).subarray(1);
    raw.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    assert.equal(raw.byteOffset % 4, 1);
    return raw;
  };
  const withBytes = (rank: number, fill: number, odd: boolean, nanAt = -1): PushPullRequest__Output => {
    const req = push({ rank }, fill);
    for (const g of req.grads) {
      const t = g.tensor as { data: Uint8Array; shape: number[] };
      const f = new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4).slice();
      if (nanAt >= 0 && g.name === 'd0/kernel#0') f[nanAt] = Number.NaN;
      t.data = odd ? unaligned(f) : new Uint8Array(f.buffer);
    }
    return req;
  };
  const run = async (odd: boolean): Promise<Buffer[]> => {
    const ps = new ParameterServerService();
    await ps.initJob(
      initRequest({ optimizer: optimizerToSpec({ type: 'adam', learningRate: 0.01 }) as never }),
    );
    const a = ps.pushPull(withBytes(0, 0.5, odd), ctx());
    assert.throws(
      () => ps.pushPull(withBytes(1, 0.25, odd, 5), ctx()),
      (err: unknown) =>
        err instanceof ValidationError && err.reason === 'non_finite' && /at element 5;/.test(err.message),
    );
    const [res] = await Promise.all([a, ps.pushPull(withBytes(1, 0.25, odd), ctx())]);
    assert.equal(res.version, 1);
    const out = (res.params ?? []).map((p) => Buffer.from(p.tensor?.data as Uint8Array));
    await ps.close();
    return out;
  };
  const aligned = await run(false);
  const odd = await run(true);
  assert.deepEqual(odd, aligned);
  assert.notDeepEqual(
    aligned,
    await (async () => {
      const ps = new ParameterServerService();
      await ps.initJob(initRequest());
      const p = (await ps.pull({ jobId: 'j', epoch: 0, release: false }, ctx())).params ?? [];
      const out = p.map((x) => Buffer.from(x.tensor?.data as Uint8Array));
      await ps.close();
      return out;
    })(),
    'the step changed the parameters',
  );
});

test('firstNonFinite finds the first NaN or infinity; its cost per MB is measured', () => {
  const data = new Float32Array(1 << 20).map((_, i) => Math.sin(i));
  assert.equal(firstNonFinite(data), -1);
  for (const at of [0, 1023, 1024, 500_000, data.length - 1]) {
    const d = data.slice();
    d[at] = at % 2 ? Number.NEGATIVE_INFINITY : Number.NaN;
    assert.equal(firstNonFinite(d), at);
  }
  // 4 MB: warm up, then time. Printed for the report; asserted only loosely (shared CI cores).
  for (let i = 0; i < 5; i++) firstNonFinite(data);
  const t0 = performance.now();
  const rounds = 20;
  for (let i = 0; i < rounds; i++) firstNonFinite(data);
  const msPerMb = (performance.now() - t0) / rounds / 4;
  console.log(`firstNonFinite: ${msPerMb.toFixed(3)} ms per MB`);
  assert.ok(msPerMb < 20, `${msPerMb} ms per MB`);
});
