/**
 * `@distrain/client` against a real coordinator (with data-loader, parameter server and NATS) over
 * loopback: every method, a watch that survives a coordinator kill -9 and restart (each event once,
 * in order), and the typed errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  DistrainClient,
  InvalidArgumentError,
  JobNotFoundError,
  JobStateError,
  UnavailableError,
} from '@distrain/client';
import type { Job, TrainingJobInput, WatchEvent } from '@distrain/client';
import { ROOT } from '../support/cli.ts';
import { startNatsServer } from '../support/nats.ts';
import type { NatsServer } from '../support/nats.ts';
import { freePort } from '../support/prometheus.ts';
import { TEST_TOKEN, startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

let nats: NatsServer;
let loader: ServiceProcess;
let ps: ServiceProcess;
let coordinator: ServiceProcess;
let coordinatorArgs: string[] = [];
let client: DistrainClient;
const dir = mkdtempSync(join(tmpdir(), 'distrain-client-'));

const yamlText = readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8');
/** The example, smaller: one trainer, 3,000 samples, 3 epochs. */
function smallJob(epochs: number): TrainingJobInput {
  const job = parseYaml(yamlText) as TrainingJobInput;
  job.spec.dataset = { ...job.spec.dataset, sampleCount: 3000 };
  job.spec.trainers = { ...job.spec.trainers, replicas: 1 };
  job.spec.epochs = epochs;
  job.spec.fault = { stragglerTimeoutMs: 8_000, maxRestarts: 3 };
  return job;
}

before(async () => {
  nats = await startNatsServer();
  [loader, ps] = await Promise.all([
    startService('data-loader', ['--port', '0']),
    startService('parameter-server', ['--port', '0', '--shard-index', '0']),
  ]);
  const port = await freePort();
  coordinatorArgs = [
    '--port',
    String(port),
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    `127.0.0.1:${ps.port}`,
    '--nats',
    nats.url,
  ];
  coordinator = await startService('coordinator', coordinatorArgs);
  client = new DistrainClient({ address: `127.0.0.1:${port}`, token: TEST_TOKEN, timeoutMs: 60_000 });
});

after(async () => {
  client?.close();
  await coordinator?.stop();
  await Promise.all([loader?.stop(), ps?.stop()]);
  await nats?.stop();
});

let trained: Job | undefined;

test(
  'submit an object, watch across a coordinator kill -9 and restart: every event once, in order',
  { timeout: 400_000 },
  async () => {
    const job = await client.submit(smallJob(3));
    assert.match(job.id, /^mnist-mlp-/);
    assert.equal(job.state, 'JOB_STATE_PENDING');
    const events: WatchEvent[] = [];
    const reconnects: number[] = [];
    let restarted = false;
    for await (const e of client.watch(job.id, {
      reconnectDelayMs: 300,
      onReconnect: (attempt) => reconnects.push(attempt),
    })) {
      events.push(e);
      if (e.event === 'epoch' && e.epoch.epoch === 1 && !restarted) {
        restarted = true;
        await coordinator.stop('SIGKILL');
        coordinator = await startService('coordinator', coordinatorArgs);
      }
    }
    assert.ok(restarted, 'the coordinator was restarted during the watch');
    assert.ok(reconnects.length >= 1, 'the watch reconnected');
    const seqs = events.map((e) => e.sequence);
    for (let i = 1; i < seqs.length; i++)
      assert.ok((seqs[i] as number) > (seqs[i - 1] as number), `sequences increase: ${seqs.join(',')}`);
    const epochs = events.flatMap((e) => (e.event === 'epoch' ? [e.epoch.epoch] : []));
    assert.deepEqual(epochs, [1, 2, 3], 'every epoch once, in order');
    const last = events.at(-1);
    assert.equal(last?.event, 'state');
    assert.equal(last?.event === 'state' ? last.state.state : '', 'JOB_STATE_SUCCEEDED');
    assert.ok(events.some((e) => e.event === 'step' && e.step.progress !== null));
    trained = await client.waitForEnd(job.id);
    assert.equal(trained.state, 'JOB_STATE_SUCCEEDED');
    assert.equal(trained.epochs.length, 3);
    assert.ok(
      (trained.epochs.at(-1)?.testAccuracy ?? 0) > 0.7,
      `accuracy ${trained.epochs.at(-1)?.testAccuracy}`,
    );
  },
);

test('get and list show the finished job', async () => {
  assert.ok(trained);
  const got = await client.get(trained.id);
  assert.equal(got.state, 'JOB_STATE_SUCCEEDED');
  assert.deepEqual(
    got.epochs.map((e) => e.testAccuracy),
    trained.epochs.map((e) => e.testAccuracy),
  );
  const all = await client.list();
  assert.ok(all.some((j) => j.id === trained?.id));
  const running = await client.list({ state: 'JOB_STATE_RUNNING' });
  assert.ok(!running.some((j) => j.id === trained?.id));
});

test('predictions stream typed rows whose accuracy matches the last epoch', async () => {
  assert.ok(trained);
  let rows = 0;
  let correct = 0;
  let previous = -1;
  for await (const row of client.predictions(trained.id)) {
    assert.equal(row.index, previous + 1, 'rows in dataset order');
    previous = row.index;
    assert.equal(row.probabilities.length, 10);
    rows++;
    if (row.label === row.predicted) correct++;
  }
  const last = trained.epochs.at(-1);
  assert.equal(rows, last?.numSamples);
  assert.ok(Math.abs(correct / rows - (last?.testAccuracy ?? 0)) < 1e-6, `${correct}/${rows}`);
});

test('exportModel writes model.json and weights.bin from the coordinator', { timeout: 200_000 }, async () => {
  // Exported the moment it ends: the export waits for the teardown that keeps the final parameters.
  const job = await client.submit(smallJob(1));
  const final = await client.waitForEnd(job.id);
  assert.equal(final.state, 'JOB_STATE_SUCCEEDED');
  const out = join(dir, 'model');
  const files = await client.exportModel(job.id, out);
  assert.deepEqual(files.sort(), [join(out, 'model.json'), join(out, 'weights.bin')]);
  const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
    weightsManifest: { weights: { shape: number[] }[] }[];
  };
  const floats = model.weightsManifest
    .flatMap((g) => g.weights)
    .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(statSync(join(out, 'weights.bin')).size, floats * 4);
});

test('submit YAML text, then cancel it: Cancelled with the reason', { timeout: 120_000 }, async () => {
  const job = await client.submit(yamlText.replace('epochs: 5', 'epochs: 50'));
  assert.equal(job.name, 'mnist-mlp');
  const cancelled = await client.cancel(job.id, 'not needed');
  const final = cancelled.state === 'JOB_STATE_CANCELLED' ? cancelled : await client.waitForEnd(job.id);
  assert.equal(final.state, 'JOB_STATE_CANCELLED');
  assert.match(final.reason, /not needed/);
  // Idempotent on an ended job.
  assert.equal((await client.cancel(job.id)).state, 'JOB_STATE_CANCELLED');
});

test(
  'errors are typed: bad spec names the field, unknown id, wrong state, unreachable',
  { timeout: 120_000 },
  async () => {
    await assert.rejects(client.submit(yamlText.replace('units: 128', 'units: -3')), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err));
      assert.match(err.field ?? '', /units/);
      assert.equal(err.method, 'SubmitJob');
      return true;
    });
    await assert.rejects(client.submit('   '), InvalidArgumentError);
    await assert.rejects(client.get('no-such-job'), (err: unknown) => {
      assert.ok(err instanceof JobNotFoundError, String(err));
      assert.equal(err.jobId, 'no-such-job');
      return true;
    });
    await assert.rejects(async () => {
      for await (const e of client.watch('no-such-job')) void e;
    }, JobNotFoundError);
    const pending = await client.submit(smallJob(50));
    await client.cancel(pending.id);
    await assert.rejects(async () => {
      for await (const r of client.predictions(pending.id)) void r;
    }, JobStateError);
    const nowhere = new DistrainClient({
      address: `127.0.0.1:${await freePort()}`,
      timeoutMs: 2_000,
      retries: 1,
    });
    await assert.rejects(nowhere.list(), UnavailableError);
    nowhere.close();
  },
);
