import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isServiceError } from '@distrain/core';
import { ParameterClient, initialParameters } from '@distrain/core/ps';
import type { VariableInfo } from '@distrain/core';

/** The shards' deployment token (this test acts as their coordinator). */
const TOKEN = 'ps-main-token';
const MAIN = fileURLToPath(new URL('../../services/parameter-server/src/main.ts', import.meta.url));
const VARS: VariableInfo[] = [
  { name: 'k', shape: [8, 4], initializer: 'glorotUniform', fanIn: 8, fanOut: 4, trainable: true },
  { name: 'b', shape: [4], initializer: 'zeros', fanIn: 8, fanOut: 4, trainable: true },
];

/** Starts one shard process; resolves with its port once it printed the listening line. */
async function startShard(index: number): Promise<{ port: number; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--shard-index', `ps-${index}`], {
    env: { ...process.env, DISTRAIN_PS_PORT: '0', DISTRAIN_LOG_LEVEL: 'warn', DISTRAIN_AUTH_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const msg = JSON.parse(line) as { event: string; port: number };
    if (msg.event === 'listening') return { port: msg.port, child };
  }
  throw new Error('shard exited before listening');
}

void test('main.ts: two shard processes serve a job; SIGTERM aborts waiting pushes and exits 0', async () => {
  const shards = await Promise.all([startShard(0), startShard(1)]);
  const ps = new ParameterClient({
    jobId: 'proc',
    shardAddresses: shards.map((s) => `127.0.0.1:${s.port}`),
    variables: VARS,
    maxPartBytes: 64,
    timeoutMs: 10_000,
    retries: 0,
    token: TOKEN,
  });
  try {
    await ps.init({
      seed: 9,
      optimizer: { type: 'sgd', learningRate: 0.1 },
      worldSize: 2,
      stepsPerEpoch: 10,
    });
    assert.deepEqual((await ps.pull()).params, initialParameters(VARS, 9));
    const waiting = ps.pushPull({
      rank: 0,
      step: 0,
      sampleCount: 1,
      grads: new Map(VARS.map((v) => [v.name, new Float32Array(v.shape.reduce((a, b) => a * b, 1))])),
      lossSum: 0,
    });
    const outcome = waiting.then(
      () => assert.fail('push should not complete'),
      (err: unknown) => {
        assert.ok(isServiceError(err));
        assert.ok(
          [GrpcStatus.ABORTED, GrpcStatus.UNAVAILABLE].includes(err.code),
          `${err.code} ${err.details}`,
        );
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    for (const s of shards) s.child.kill('SIGTERM');
    const codes = await Promise.all(shards.map(async (s) => (await once(s.child, 'exit'))[0] as number));
    assert.deepEqual(codes, [0, 0]);
    assert.ok(Date.now() - t0 < 5_000, 'graceful shutdown is quick');
    await outcome;
  } finally {
    ps.close();
    for (const s of shards) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  }
});
