/**
 * A pushed NaN gradient does not poison a real job (issue 13 acceptance): a small digits job runs on
 * real processes (loader, one shard with its ZeroMQ data plane, coordinator, trainers, evaluator);
 * while it trains, a NaN gradient is pushed for rank 0 through the real data plane. The shard refuses
 * it (INVALID_ARGUMENT naming the field, counted as `distrain_ps_rejected_total{reason="non_finite"}`)
 * and the job still succeeds with normal accuracy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { parse as parseYaml } from 'yaml';
import { DistrainClient } from '@distrain/client';
import type { TrainingJobInput } from '@distrain/client';
import { ParameterClient } from '@distrain/core/ps';
import { describeModel } from '@distrain/core/model';
import { ROOT } from '../support/cli.ts';
import { freePort } from '../support/prometheus.ts';
import { TEST_TOKEN, startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

let loader: ServiceProcess;
let ps: ServiceProcess;
let coordinator: ServiceProcess;
let client: DistrainClient;

before(async () => {
  [loader, ps] = await Promise.all([
    startService('data-loader', ['--port', '0']),
    startService('parameter-server', [
      '--port',
      '0',
      '--shard-index',
      '0',
      '--data-plane',
      'zmq',
      '--metrics-port',
      '0',
    ]),
  ]);
  const port = await freePort();
  coordinator = await startService('coordinator', [
    '--port',
    String(port),
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    `127.0.0.1:${ps.port}`,
    '--data-plane',
    'zmq',
  ]);
  client = new DistrainClient({ address: `127.0.0.1:${port}`, timeoutMs: 60_000, token: TEST_TOKEN });
});

after(async () => {
  client?.close();
  await coordinator?.stop();
  await Promise.all([loader?.stop(), ps?.stop()]);
});

async function rejectedNonFinite(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ps.metricsPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('distrain_ps_rejected_total{') && l.includes('reason="non_finite"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

test(
  'a NaN gradient pushed into a running job is refused and the job reaches normal accuracy',
  { timeout: 240_000 },
  async () => {
    const job = parseYaml(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as TrainingJobInput;
    job.spec.dataset = { ...job.spec.dataset, sampleCount: 3000 };
    job.spec.trainers = { ...job.spec.trainers, replicas: 2 };
    job.spec.epochs = 3;
    const submitted = await client.submit(job);
    // Wait until training has started (the shard holds the job and a few steps are applied).
    for (let i = 0; i < 600; i++) {
      const j = await client.get(submitted.id);
      if (
        Number(j.progress?.globalStep ?? 0) >= 3 ||
        (j.state !== 'JOB_STATE_PENDING' && j.state !== 'JOB_STATE_RUNNING')
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = await rejectedNonFinite();
    const { variables } = describeModel((job.spec.model?.layers ?? []) as never, [28, 28]);
    const pc = new ParameterClient({
      jobId: submitted.id,
      shardAddresses: [`127.0.0.1:${ps.port}`],
      variables,
      timeoutMs: 5_000,
      dataPlane: 'zmq',
    });
    const step = (await pc.pull({})).version;
    const nan = new Map(
      variables
        .filter((v) => v.trainable)
        .map((v) => [v.name, new Float32Array(v.shape.reduce((a, b) => a * b, 1)).fill(Number.NaN)]),
    );
    await assert.rejects(
      pc.pushPull({ rank: 0, step, sampleCount: 32, grads: nan, lossSum: 1 }),
      (err: unknown) => {
        assert.equal((err as { code?: number }).code, GrpcStatus.INVALID_ARGUMENT, String(err));
        assert.match(String((err as Error).message), /non-finite value \(NaN\)/);
        return true;
      },
    );
    pc.close();
    assert.ok(
      (await rejectedNonFinite()) > before,
      'distrain_ps_rejected_total{reason="non_finite"} increased',
    );
    const end = await client.waitForEnd(submitted.id);
    assert.equal(end.state, 'JOB_STATE_SUCCEEDED', end.reason);
    const final = end.epochs.at(-1);
    process.stderr.write(`poison job: final test accuracy ${String(final?.testAccuracy)}\n`);
    // The same job without the NaN push reaches about 0.9 on 3,000 digits in 3 epochs.
    assert.ok(Number(final?.testAccuracy) >= 0.85, `accuracy ${String(final?.testAccuracy)}`);
    assert.ok(Number.isFinite(Number(final?.testLoss)));
  },
);

test(
  'a job whose loss diverges fails with the reason instead of succeeding',
  { timeout: 240_000 },
  async () => {
    const job = parseYaml(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as TrainingJobInput;
    job.spec.dataset = { ...job.spec.dataset, sampleCount: 1000 };
    job.spec.trainers = { ...job.spec.trainers, replicas: 2 };
    job.spec.epochs = 3;
    // A linear model on 784 pixels with squared error and SGD at the schema's largest learning rate:
    // each step multiplies the error by about lr * |x|^2 >> 2, so the loss overflows within steps.
    job.spec.model = { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] } as never;
    job.spec.loss = 'meanSquaredError' as never;
    job.spec.optimizer = { type: 'sgd', learningRate: 10 } as never;
    const submitted = await client.submit(job);
    const end = await client.waitForEnd(submitted.id);
    process.stderr.write(`diverging job: ${end.state} ${end.reason}\n`);
    assert.equal(end.state, 'JOB_STATE_FAILED');
    assert.match(
      end.reason,
      /(loss|gradient of \S+|test loss) became (NaN|Infinity|-Infinity) at (step \d+, )?epoch \d+; lower learningRate or enable clipNorm/,
    );
  },
);
