import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { encodeTensor, silentLogger, startGrpcServer } from '@distrain/core';
import type { RunningGrpcServer, VariableInfo } from '@distrain/core';
import {
  DATA_PLANE_PAD_BYTES,
  NOOP_PS_OBSERVER,
  ParameterClient,
  ZmqChannel,
  decodePushPullResponse,
  encodePushPullRequest,
  splitTensorData,
} from '@distrain/core/ps';
import { ParameterServerService } from '../../services/parameter-server/src/ps-service.ts';
import { startZmqDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';
import type { RunningDataPlane } from '../../services/parameter-server/src/zmq-data-plane.ts';

// The zero-copy form of the ZeroMQ data plane (tensor data as frames of their own) against the
// inline form (one body, as gRPC): the same answer; malformed frames are INVALID_ARGUMENT; a
// deadline discards a request still queued, so it never reaches a shard later.

const VARS: VariableInfo[] = [
  { name: 'k', shape: [128, 64], initializer: 'glorotUniform', fanIn: 128, fanOut: 64, trainable: true },
  { name: 'b', shape: [64], initializer: 'zeros', fanIn: 128, fanOut: 64, trainable: true },
];

async function withShard(
  run: (s: { grpc: RunningGrpcServer; data: RunningDataPlane }) => Promise<void>,
): Promise<void> {
  const service = new ParameterServerService({ shardIndex: 0 });
  const grpc = await startGrpcServer({ services: [service.binding()] });
  const data = await startZmqDataPlane(service, {
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    observer: NOOP_PS_OBSERVER,
    maxWaitMs: 5_000,
  });
  service.dataPlane = { port: data.port, transport: 'zmq' };
  try {
    await run({ grpc, data });
  } finally {
    await service.close();
    await data.close();
    await grpc.shutdown(1_000);
  }
}

const pad = (message: Buffer): Buffer => Buffer.concat([Buffer.alloc(DATA_PLANE_PAD_BYTES), message]);

function gradsFor(client: ParameterClient) {
  return client.plan.parts.map((p) => ({
    name: p.key,
    tensor: encodeTensor(
      Float32Array.from({ length: p.length }, (_, i) => Math.sin(i + p.offset)),
      [p.length],
    ),
  }));
}

void test('zmq frames: the zero-copy form answers with data frames, bit-identical to the inline form', async () => {
  await withShard(async ({ grpc, data }) => {
    const clients = ['inline', 'frames'].map(
      (jobId) =>
        new ParameterClient({ jobId, shardAddresses: [grpc.address], variables: VARS, timeoutMs: 5_000 }),
    );
    const ch = await ZmqChannel.connect(`tcp://127.0.0.1:${data.port}`);
    try {
      for (const c of clients)
        await c.init({
          seed: 7,
          optimizer: { type: 'adam', learningRate: 0.01 },
          worldSize: 1,
          stepsPerEpoch: 100,
        });
      const [inlineClient, framesClient] = clients as [ParameterClient, ParameterClient];
      const base = { rank: 0, step: 0, sampleCount: 4, lossSum: 2 };
      const inline = await ch.requestFrames(
        'PushPull',
        pad(encodePushPullRequest({ ...base, jobId: 'inline', grads: gradsFor(inlineClient) }) as Buffer),
        [],
        5_000,
      );
      assert.equal(inline.data.length, 0, 'an inline request gets an inline answer');
      const { headers, frames } = splitTensorData(gradsFor(framesClient));
      const body = pad(encodePushPullRequest({ ...base, jobId: 'frames', grads: headers }) as Buffer);
      assert.ok(body.length < 100, 'the body carries no tensor data');
      const zero = await ch.requestFrames('PushPull', body, frames, 5_000);
      assert.equal(zero.data.length, framesClient.plan.parts.length, 'one data frame per part');
      const a = decodePushPullResponse(inline.body);
      const b = decodePushPullResponse(zero.body);
      assert.equal(b.version, 1);
      assert.equal(b.meanLoss, a.meanLoss);
      assert.deepEqual(
        b.params.map((p) => p.tensor?.data.length),
        b.params.map(() => 0),
        'the answer body has no tensor data',
      );
      for (const [i, p] of a.params.entries())
        assert.ok(
          Buffer.compare(p.tensor?.data ?? Buffer.alloc(0), zero.data[i] as Buffer) === 0,
          `part ${p.name}`,
        );
      // The client's own pushPull (zero-copy form) reaches the same numbers as the inline push.
      const viaClient = new ParameterClient({
        jobId: 'client',
        shardAddresses: [grpc.address],
        variables: VARS,
      });
      try {
        await viaClient.init({
          seed: 7,
          optimizer: { type: 'adam', learningRate: 0.01 },
          worldSize: 1,
          stepsPerEpoch: 100,
        });
        const whole = new Map(
          VARS.map((v) => {
            const n = v.shape.reduce((x, y) => x * y, 1);
            return [v.name, Float32Array.from({ length: n }, (_, i) => Math.sin(i))];
          }),
        );
        const r = await viaClient.pushPull({ ...base, grads: whole });
        const expected = Buffer.concat(a.params.map((p) => p.tensor?.data ?? Buffer.alloc(0)));
        const got = Buffer.concat(
          VARS.map((v) => Buffer.from((r.params.get(v.name) as Float32Array).buffer)),
        );
        assert.equal(Buffer.compare(got, expected), 0, 'bit-identical parameters');
      } finally {
        viaClient.close();
      }
    } finally {
      ch.close();
      for (const c of clients) c.close();
    }
  });
});

void test('zmq frames: a frame count that does not match the body, inline data with frames, frames on Pull: INVALID_ARGUMENT', async () => {
  await withShard(async ({ grpc, data }) => {
    const c = new ParameterClient({ jobId: 'bad', shardAddresses: [grpc.address], variables: VARS });
    const ch = await ZmqChannel.connect(`tcp://127.0.0.1:${data.port}`);
    try {
      await c.init({
        seed: 1,
        optimizer: { type: 'sgd', learningRate: 0.1 },
        worldSize: 1,
        stepsPerEpoch: 100,
      });
      const { headers, frames } = splitTensorData(gradsFor(c));
      const base = { jobId: 'bad', rank: 0, step: 0, sampleCount: 1 };
      const codeOf = async (body: Buffer, extra: Buffer[], method: 'PushPull' | 'Pull' = 'PushPull') => {
        try {
          await ch.requestFrames(method, body, extra, 5_000);
          return { code: GrpcStatus.OK, details: '' };
        } catch (err) {
          return err as { code: number; details: string };
        }
      };
      const short = await codeOf(
        pad(encodePushPullRequest({ ...base, grads: headers }) as Buffer),
        frames.slice(1),
      );
      assert.equal(short.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(short.details, /data frames: the body names 2 tensors but 1 data frames/);
      const both = await codeOf(
        pad(encodePushPullRequest({ ...base, grads: gradsFor(c) }) as Buffer),
        frames,
      );
      assert.equal(both.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(both.details, /grads\[0\]\.tensor\.data: must be empty/);
      const pull = await codeOf(pad(Buffer.alloc(0)), [Buffer.alloc(8)], 'Pull');
      assert.equal(pull.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(pull.details, /data frames: Pull takes none/);
      // The step is still open: a well-formed push is applied.
      const ok = await codeOf(pad(encodePushPullRequest({ ...base, grads: headers }) as Buffer), frames);
      assert.equal(ok.code, GrpcStatus.OK);
    } finally {
      ch.close();
      c.close();
    }
  });
});

void test('zmq frames: a deadline discards the queued request; a shard that comes up later sees only the retry', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const ch = await ZmqChannel.connect(`tcp://127.0.0.1:${port}`);
  const zmq = await import('zeromq');
  const router = new zmq.Router({ linger: 0 });
  try {
    const stale = Buffer.alloc(4096, 1);
    await assert.rejects(ch.requestFrames('PushPull', pad(Buffer.alloc(0)), [stale], 150), (err: unknown) => {
      return (err as { code?: number }).code === GrpcStatus.DEADLINE_EXCEEDED;
    });
    stale.fill(2); // the caller owns its memory again
    await router.bind(`tcp://127.0.0.1:${port}`);
    const retry = ch.requestFrames('PushPull', pad(Buffer.alloc(0)), [Buffer.alloc(4096, 3)], 5_000);
    const seen: number[] = [];
    const answered = (async () => {
      for await (const frames of router) {
        const [identity, , id, , , , data] = frames;
        seen.push(data?.[0] ?? -1);
        await router.send([identity as Buffer, id as Buffer, '0', Buffer.alloc(DATA_PLANE_PAD_BYTES)]);
        return;
      }
    })();
    const reply = await retry;
    await answered;
    assert.equal(reply.body.length, 0);
    // Nothing else arrives: the stale request was dropped with the old socket.
    const more = await Promise.race([
      router.receive().then(() => 'received'),
      new Promise((r) => setTimeout(() => r('quiet'), 300)),
    ]);
    assert.equal(more, 'quiet');
    assert.deepEqual(seen, [3], 'only the request sent after the deadline reached the shard');
  } finally {
    ch.close();
    router.close();
  }
});

test('a request is handed to ZeroMQ inside requestFrames: it reaches the peer while the caller is still busy', async () => {
  // The peer runs on a thread of its own and notes when each request arrives; the caller sends and
  // then computes for 300 ms without yielding, as a trainer does after its push. A send queued
  // behind a promise would leave only after that.
  const { Worker } = await import('node:worker_threads');
  const peer = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const zmq = require('zeromq');
     (async () => {
       const router = new zmq.Router();
       await router.bind('tcp://127.0.0.1:0');
       parentPort.postMessage({ endpoint: router.lastEndpoint });
       // Closed from here (terminating a thread with an open socket aborts the process).
       parentPort.on('message', () => {
         router.close();
         parentPort.close();
       });
       for await (const [identity, , id] of router) {
         parentPort.postMessage({ arrived: performance.timeOrigin + performance.now() });
         await router.send([identity, id, '0', Buffer.alloc(8)]);
       }
     })();`,
    { eval: true },
  );
  const messages: { endpoint?: string; arrived?: number }[] = [];
  const next = (): Promise<{ endpoint?: string; arrived?: number }> =>
    messages.length > 0
      ? Promise.resolve(messages.shift() as { endpoint?: string; arrived?: number })
      : new Promise((resolve) => peer.once('message', resolve));
  peer.on('message', (m) => messages.push(m));
  peer.removeAllListeners('message');
  const channel = await ZmqChannel.connect((await next()).endpoint as string);
  try {
    const body = pad(Buffer.from('x'));
    await channel.requestFrames('Pull', body, [], 5_000); // connected, both sides warm
    await next();
    const reply = channel.requestFrames('Pull', pad(Buffer.from('y')), [Buffer.alloc(4096)], 5_000);
    const busyUntil = performance.timeOrigin + performance.now() + 300;
    while (performance.timeOrigin + performance.now() < busyUntil); // no await: the caller's compute
    const { arrived } = await next();
    await reply;
    assert.ok(
      (arrived as number) < busyUntil - 100,
      `the request arrived ${((arrived as number) - busyUntil).toFixed(1)} ms after the caller's 300 ms of compute ended`,
    );
  } finally {
    channel.close();
    const exited = new Promise((resolve) => peer.once('exit', resolve));
    peer.postMessage('close');
    await exited;
  }
});
