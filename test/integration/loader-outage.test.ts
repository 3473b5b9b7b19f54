/**
 * A data-loader outage as trainers see it: the real data-loader process is SIGKILLed in the middle
 * of an epoch streamed to two ranks, stays down 30 s, and is restarted on the same port; each rank's
 * batch stream reconnects and resumes at the step it needs, and every training sample of the epoch
 * arrives exactly once over both ranks. A loader that does not come back ends the stream within its
 * time budget with an UnavailableError naming the address. Both stream Fashion-MNIST (60,000
 * samples, 47 MB an epoch): the loader channel's 4 MiB flow-control window would hold a whole epoch
 * of the digits, which could then arrive before the kill.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnavailableError, dataLoaderClient, sleep, toGrpcStatus, unary } from '@distrain/core';
import type { StreamBatchesRequest } from '@distrain/core';
import { LOADER_CHANNEL_OPTIONS, streamBatches } from '@distrain/core/datasets';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

const FASHION = { name: 'fashion-mnist' };
const OUTAGE_MS = 30_000;

function request(rank: number, over: Partial<StreamBatchesRequest> = {}): StreamBatchesRequest {
  return {
    jobId: 'outage',
    dataset: FASHION,
    split: 'SPLIT_TRAIN',
    epoch: 1,
    rank,
    worldSize: 2,
    globalBatchSize: 64,
    seed: 7,
    startStep: 0,
    ...over,
  };
}

test(
  'a 30 s loader outage mid-epoch: both ranks reconnect, resume, and use every sample exactly once',
  { timeout: 110_000 },
  async () => {
    let loader: ServiceProcess = await startService('data-loader', ['--port', '0']);
    const port = loader.port;
    const address = `127.0.0.1:${port}`;
    const client = dataLoaderClient(address, LOADER_CHANNEL_OPTIONS);
    try {
      const info = await unary(client, client.describeDataset, { dataset: FASHION }, { timeoutMs: 30_000 });
      const outages: string[] = [];
      const recovered: number[] = [];
      let killedAt = 0;
      const consume = async (rank: number): Promise<{ indices: number[]; steps: number[] }> => {
        const indices: number[] = [];
        const steps: number[] = [];
        const stream = streamBatches(client, request(rank), {
          prefetch: 2,
          address,
          onOutage: (o) => outages.push(`${rank}@${o.step}`),
          onRecovered: (r) => recovered.push(r.waitedMs),
        });
        for await (const b of stream) {
          steps.push(b.step);
          indices.push(...b.indices);
          if (rank === 0 && b.step === 5 && killedAt === 0) {
            killedAt = Date.now();
            process.kill(loader.child.pid as number, 'SIGKILL');
          }
          await sleep(5); // a consumer slower than the loader, so the kill lands mid-epoch
        }
        return { indices, steps };
      };
      const ranks = Promise.all([consume(0), consume(1)]);
      // Down for 30 s, then back on the same port (as the local supervisor or Kubernetes restarts it).
      while (killedAt === 0) await sleep(20);
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));
      loader = await startService('data-loader', ['--port', String(port)]);
      const [r0, r1] = await ranks;
      const steps = Math.ceil(info.trainCount / 64);
      for (const r of [r0, r1])
        assert.deepEqual(r.steps, [...Array(steps).keys()], 'every step once, in order');
      const all = [...r0.indices, ...r1.indices].sort((a, b) => a - b);
      assert.equal(all.length, info.trainCount, 'as many samples as the training split');
      assert.equal(new Set(all).size, info.trainCount, 'no sample twice');
      assert.ok(outages.length >= 1, 'the outage was noticed');
      assert.ok(recovered.length >= 1, 'and the recovery');
      assert.ok(
        Math.max(...recovered) >= OUTAGE_MS - 1_000,
        `waited through the outage: ${recovered.join(', ')} ms`,
      );
      assert.ok(
        Math.max(...recovered) < OUTAGE_MS + 10_000,
        `found the loader soon after it came back: ${recovered.join(', ')} ms`,
      );
    } finally {
      client.close();
      await loader.stop();
    }
  },
);

test(
  'a loader that stays down ends the stream after its budget: UnavailableError naming the address',
  { timeout: 60_000 },
  async () => {
    const loader = await startService('data-loader', ['--port', '0']);
    const address = `127.0.0.1:${loader.port}`;
    const client = dataLoaderClient(address, LOADER_CHANNEL_OPTIONS);
    try {
      const stream = streamBatches(client, request(0), { prefetch: 1, retryBudgetMs: 3_000, address });
      const first = await stream.next();
      assert.equal(first.done, false);
      await loader.stop('SIGKILL');
      const started = Date.now();
      let caught: unknown;
      try {
        for (;;) if ((await stream.next()).done) break;
      } catch (err) {
        caught = err;
      }
      const waited = Date.now() - started;
      assert.ok(caught instanceof UnavailableError, String(caught));
      assert.match(caught.message, new RegExp(`data-loader at ${address} unreachable`));
      assert.equal(toGrpcStatus(caught).code, GrpcStatus.UNAVAILABLE);
      assert.ok(waited >= 2_500 && waited < 10_000, `gave up after ${waited} ms (budget 3 s)`);
    } finally {
      client.close();
    }
  },
);
