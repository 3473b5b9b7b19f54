/**
 * Synchronized batch norm's all-gather (`ExchangeStats` on shard 0) over real loopback gRPC: every
 * rank gets every live rank's vector in rank order whatever the arrival order, repeats are
 * idempotent, bad input and non-members are refused with clear errors, an eviction completes a
 * pending exchange, an applied step's exchange is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { silentLogger, startGrpcServer } from '@distrain/core';
import { NOOP_PS_OBSERVER, ParameterClient, StatExchangeClient } from '@distrain/core/ps';
import type { ParamMap, RunningGrpcServer, VariableInfo } from '@distrain/core';
import { ParameterServerService } from '../../services/parameter-server/src/ps-service.ts';
import { startZmqDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';

const VARS: VariableInfo[] = [
  { name: 'd0/kernel', shape: [2, 2], initializer: 'glorotUniform', fanIn: 2, fanOut: 2, trainable: true },
];

type Transport = 'grpc' | 'zmq';

async function withShard(
  transport: Transport,
  worldSize: number,
  body: (ps: ParameterClient, rank: (r: number, timeoutMs?: number) => StatExchangeClient) => Promise<void>,
): Promise<void> {
  const service = new ParameterServerService({ shardIndex: 0 });
  const server: RunningGrpcServer = await startGrpcServer({ services: [service.binding()] });
  const plane =
    transport === 'zmq'
      ? await startZmqDataPlane(service, {
          host: '127.0.0.1',
          port: 0,
          logger: silentLogger(),
          observer: NOOP_PS_OBSERVER,
          maxWaitMs: 10_000,
        })
      : undefined;
  if (plane) service.dataPlane = { port: plane.port, transport: 'zmq' };
  const ps = new ParameterClient({
    jobId: 'stats',
    dataPlane: 'grpc',
    shardAddresses: [server.address],
    variables: VARS,
    timeoutMs: 10_000,
  });
  const clients: StatExchangeClient[] = [];
  try {
    await ps.init({ seed: 1, optimizer: { type: 'sgd', learningRate: 0.1 }, worldSize, stepsPerEpoch: 10 });
    await body(ps, (r, timeoutMs = 10_000) => {
      const c = new StatExchangeClient({
        jobId: 'stats',
        rank: r,
        address: server.address,
        dataPlane: transport,
        timeoutMs,
        retries: 0,
      });
      clients.push(c);
      return c;
    });
  } finally {
    for (const c of clients) c.close();
    ps.close();
    await service.close();
    await plane?.close();
    await server.shutdown(1_000);
  }
}

const vec = (...v: number[]): Float64Array => Float64Array.from(v);
const plain = (parts: Float64Array[]): number[][] => parts.map((p) => [...p]);

function grads(): ParamMap {
  return new Map([['d0/kernel', new Float32Array(4).fill(1)]]);
}

for (const transport of ['grpc', 'zmq'] as const) {
  void test(`ExchangeStats over ${transport}: every rank gets all vectors in rank order, whatever the arrival order`, async () => {
    await withShard(transport, 3, async (_ps, rank) => {
      const [c0, c1, c2] = [rank(0), rank(1), rank(2)];
      assert.equal(await c0.transport(), transport);
      // Rank 2 first, rank 0 last.
      const p2 = c2.allGather(0, 0, vec(2, 2.5));
      await sleep(30);
      const p1 = c1.allGather(0, 0, vec(1, 1.5));
      await sleep(30);
      const p0 = c0.allGather(0, 0, vec(0, 0.5));
      const want = [
        [0, 0.5],
        [1, 1.5],
        [2, 2.5],
      ];
      for (const p of [p0, p1, p2]) assert.deepEqual(plain(await p), want);
      // A repeat (a retry after a lost answer) keeps the first vector and gets the same answer.
      assert.deepEqual(plain(await c1.allGather(0, 0, vec(9, 9))), want);
      // Another slot of the same step is separate.
      const other = await Promise.all([c0, c1, c2].map((c, r) => c.allGather(0, 1, vec(10 * r))));
      for (const o of other) assert.deepEqual(plain(o), [[0], [10], [20]]);
    });
  });

  void test(`ExchangeStats over ${transport}: a length mismatch, a non-member and an applied step are refused clearly`, async () => {
    await withShard(transport, 2, async (ps, rank) => {
      const c0 = rank(0);
      const c1 = rank(1);
      // Rank 0's vector must be there first (two sockets keep no order between them): both channels
      // open before, then a moment between the sends (a fresh-clone run once saw rank 1's first).
      assert.equal(await c0.transport(), transport);
      assert.equal(await c1.transport(), transport);
      const first = c0.allGather(0, 0, vec(1, 2, 3));
      await sleep(50);
      await assert.rejects(c1.allGather(0, 0, vec(1, 2)), (err: { code: number; details: string }) => {
        assert.equal(err.code, GrpcStatus.INVALID_ARGUMENT);
        assert.match(err.details, /values.*2 values.*other ranks sent 3/);
        return true;
      });
      await assert.rejects(
        rank(5).allGather(0, 0, vec(1, 2, 3)),
        (err: { code: number; details: string }) => {
          assert.equal(err.code, GrpcStatus.FAILED_PRECONDITION);
          assert.match(err.details, /rank 5 is not a member/);
          return true;
        },
      );
      await c1.allGather(0, 0, vec(4, 5, 6));
      assert.deepEqual(plain(await first), [
        [1, 2, 3],
        [4, 5, 6],
      ]);
      // Both ranks push step 0: it is applied, its statistics are gone.
      await Promise.all(
        [0, 1].map((r) => ps.pushPull({ rank: r, step: 0, sampleCount: 1, grads: grads(), lossSum: 0 })),
      );
      await assert.rejects(c0.allGather(0, 0, vec(1, 2, 3)), (err: { code: number; details: string }) => {
        assert.equal(err.code, GrpcStatus.FAILED_PRECONDITION);
        assert.match(err.details, /step 0 .* already applied/);
        return true;
      });
      // The next step's exchange works.
      const next = await Promise.all([c0, c1].map((c, r) => c.allGather(1, 0, vec(r))));
      assert.deepEqual(plain(next[0] as Float64Array[]), [[0], [1]]);
    });
  });

  void test(`ExchangeStats over ${transport}: an incomplete exchange ends at the deadline; an eviction completes it`, async () => {
    await withShard(transport, 3, async (ps, rank) => {
      await assert.rejects(rank(0, 300).allGather(0, 0, vec(1)), (err: { code: number }) => {
        assert.equal(err.code, GrpcStatus.DEADLINE_EXCEEDED);
        return true;
      });
      // Rank 0's vector stayed; rank 2 sends; rank 1 is evicted: the exchange completes with 0 and 2.
      const p2 = rank(2).allGather(0, 0, vec(3));
      await sleep(50);
      await ps.setMembers([0, 2]);
      assert.deepEqual(plain(await p2), [[1], [3]]);
    });
  });
}
