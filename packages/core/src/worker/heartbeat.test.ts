import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { silentLogger } from '../logger.ts';
import type { WorkerConfig } from '../worker-config.ts';
import { Heartbeat } from './heartbeat.ts';

/** A loopback port nobody listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function config(over: Partial<WorkerConfig>): WorkerConfig {
  return {
    jobId: 'orphan',
    role: 'trainer',
    rank: 0,
    worldSize: 1,
    coordinator: '127.0.0.1:1',
    loader: '127.0.0.1:1',
    psShards: [],
    job: {} as WorkerConfig['job'],
    dataset: {} as WorkerConfig['dataset'],
    stepsPerEpoch: 1,
    ...over,
  };
}

test(
  'a worker whose coordinator is gone stops after the config`s coordinatorLossMs',
  { timeout: 20_000 },
  async () => {
    const alive = setInterval(() => {}, 1_000); // the heartbeat's timer does not keep a process alive
    const coordinator = `127.0.0.1:${await deadPort()}`;
    const started = Date.now();
    const hb = new Heartbeat(config({ coordinator, coordinatorLossMs: 1_500 }), silentLogger(), {
      intervalMs: 100,
    });
    hb.start();
    try {
      await new Promise<void>((resolve) =>
        hb.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      const tookMs = Date.now() - started;
      assert.ok(tookMs >= 1_500 && tookMs < 6_000, `stopped after ${tookMs} ms (limit 1.5 s)`);
      assert.match(hb.stopReason, /^coordinator unreachable for \d+ s$/);
    } finally {
      clearInterval(alive);
      hb.close();
    }
  },
);
