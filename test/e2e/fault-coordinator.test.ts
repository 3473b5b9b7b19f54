/**
 * The coordinator dies (SIGKILL) mid-job: its local workers, linked to it, exit within seconds (no
 * orphans). A new coordinator on the same NATS re-adopts the job from its record and the shards'
 * version and relaunches the unfinished workers at once: the job ends Succeeded well before the
 * straggler timeout, with real epoch durations and the accuracy of a clean run of the same spec and
 * seed. (A job whose steps all ran while no coordinator listened, as with pods that outlive it, is
 * recognised from the shards' version: `jobs/restore.test.ts`.)
 * A job that ended before the restart still exports and predicts the same bytes (final artifacts in
 * the JetStream Object Store), and with `--max-ended-jobs 0` every ended job is answered from NATS
 * (record, history, artifacts) rather than from memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobClient, parseJobText, unary, validateJob } from '@distrain/core';
import type { JobEvent__Output, Job__Output, JobServiceClient } from '@distrain/core';
import { ROOT } from '../support/cli.ts';
import { waitForJob } from '../support/jobs.ts';
import { startNatsServer } from '../support/nats.ts';
import type { NatsServer } from '../support/nats.ts';
import { freePort } from '../support/prometheus.ts';
import { startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

const EPOCHS = 3;
const STRAGGLER_TIMEOUT_MS = 120_000;
let nats: NatsServer;
let loader: ServiceProcess;
let ps: ServiceProcess;
let coordinator: ServiceProcess;
let coordinatorArgs: string[] = [];
let client: JobServiceClient;

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
    '--metrics-port',
    '0',
  ];
  coordinator = await startService('coordinator', coordinatorArgs);
  client = jobClient(`127.0.0.1:${port}`);
});

after(async () => {
  client?.close();
  await coordinator?.stop();
  for (const pid of workerPids()) process.kill(pid, 'SIGKILL'); // only if a failed test left some
  await Promise.all([loader?.stop(), ps?.stop()]);
  await nats?.stop();
});

const jobIds: string[] = [];

/** Trainer and evaluator processes of this file's jobs (the local launcher puts the job id in their env). */
function workerPids(role?: 'trainer' | 'evaluator'): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (jobIds.some((id) => env.includes(`"jobId":"${id}"`)) && (!role || env.includes(`"role":"${role}"`)))
        pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

function spec(): string {
  const doc = parseJobText(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as {
    spec: Record<string, unknown>;
  };
  doc.spec['dataset'] = { name: 'mnist', sampleCount: 2000 };
  doc.spec['fault'] = { stragglerTimeoutMs: STRAGGLER_TIMEOUT_MS };
  return JSON.stringify(validateJob(doc, { epochs: EPOCHS }));
}

async function submit(): Promise<string> {
  const id = (await unary(client, client.submitJob, { spec: spec() }, { timeoutMs: 60_000 })).job?.id ?? '';
  assert.ok(id);
  jobIds.push(id);
  return id;
}

const getJob = async (id: string): Promise<Job__Output> =>
  (await unary(client, client.getJob, { id }, { timeoutMs: 10_000, retries: 5 })).job as Job__Output;

const waitFor = (id: string, done: (j: Job__Output) => boolean, timeoutMs: number): Promise<Job__Output> =>
  waitForJob(getJob, id, done, timeoutMs);
const ended = (j: Job__Output): boolean => !['JOB_STATE_PENDING', 'JOB_STATE_RUNNING'].includes(j.state);

/** Every message of a server stream. */
function collect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

/** model.json, weights.bin (and any other files) of an export, each as one Buffer. */
async function exported(id: string): Promise<Record<string, Buffer>> {
  const files = await collect<{ name: string; data: Buffer }>(
    client.exportModel({ id }, { deadline: Date.now() + 60_000 }),
  );
  const out: Record<string, Buffer> = {};
  for (const f of files) out[f.name] = Buffer.concat([out[f.name] ?? Buffer.alloc(0), f.data]);
  return out;
}

async function predictions(id: string): Promise<Buffer> {
  const chunks = await collect<{ data: Buffer }>(
    client.getPredictions({ id }, { deadline: Date.now() + 30_000 }),
  );
  return Buffer.concat(chunks.map((c) => c.data));
}

test(
  'SIGKILL the coordinator mid-job: workers exit with it; restarted, it relaunches them at once: Succeeded, same accuracy; earlier jobs still export',
  { timeout: 300_000 },
  async () => {
    // A clean run of the spec.
    const cleanId = await submit();
    const clean = await waitFor(cleanId, ended, 180_000);
    assert.equal(clean.state, 'JOB_STATE_SUCCEEDED', clean.reason);
    const cleanAccuracy = Number(clean.epochs.at(-1)?.testAccuracy);
    const cleanExport = await exported(cleanId);
    const cleanPredictions = await predictions(cleanId);
    assert.ok(cleanExport['model.json'] && cleanExport['weights.bin'], Object.keys(cleanExport).join());
    assert.ok(cleanPredictions.length > 1000);

    // The same spec and seed; the coordinator dies after the first epoch's evaluation.
    const id = await submit();
    await waitFor(id, (j) => j.epochs.length >= 1, 180_000);
    await coordinator.stop('SIGKILL');
    // Its workers are linked to it: they exit within seconds, leaving no orphans.
    const downSince = Date.now();
    while (workerPids().length > 0) {
      assert.ok(Date.now() - downSince < 20_000, 'the workers exit with their coordinator');
      await sleep(200);
    }
    const downAt = Date.now();
    coordinator = await startService('coordinator', [...coordinatorArgs, '--max-ended-jobs', '0']);
    const listeningAt = Date.now();
    const final = await waitFor(id, ended, STRAGGLER_TIMEOUT_MS);
    const restartToEndMs = Date.now() - listeningAt;
    const seconds = final.epochs.map((e) => Number(e.trainSeconds));
    const accuracy = Number(final.epochs.at(-1)?.testAccuracy);
    console.log(
      JSON.stringify({
        startupMs: listeningAt - downAt,
        restartToEndMs,
        epochSeconds: seconds,
        accuracy,
        cleanAccuracy,
        reason: final.reason,
      }),
    );
    assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
    assert.ok(
      restartToEndMs < STRAGGLER_TIMEOUT_MS / 2,
      `ended ${restartToEndMs} ms after the new coordinator listened, not after the ${STRAGGLER_TIMEOUT_MS} ms straggler timeout`,
    );
    assert.deepEqual(
      final.epochs.map((e) => e.epoch),
      [1, 2, 3],
    );
    assert.ok(
      Math.abs(accuracy - cleanAccuracy) <= 0.01,
      `accuracy ${accuracy} vs clean run ${cleanAccuracy}`,
    );
    // Every epoch timed from the shards (none "0 seconds"), and together no longer than the run.
    assert.ok(
      seconds.every((s) => s > 0.2),
      `epoch durations ${seconds.join(', ')}`,
    );
    assert.ok(seconds.reduce((a, b) => a + b, 0) <= (Date.now() - Number(final.startedAtMs)) / 1000 + 1);
    assert.ok(Math.abs(Number(final.trainSeconds) - seconds.reduce((a, b) => a + b, 0)) < 0.01);

    // --max-ended-jobs 0: both ended jobs are answered from NATS, and the one that ended before the
    // restart exports and predicts the same bytes as before.
    const list = (await unary(client, client.listJobs, {}, { timeoutMs: 10_000 })).jobs;
    assert.deepEqual(list.map((j) => j.id).sort(), [cleanId, id].sort());
    assert.equal((await getJob(cleanId)).state, 'JOB_STATE_SUCCEEDED');
    const history = await collect<JobEvent__Output>(
      client.watchJob({ id: cleanId }, { deadline: Date.now() + 30_000 }),
    );
    assert.deepEqual(
      history.filter((e) => e.event === 'epoch').map((e) => e.epoch?.epoch),
      [1, 2, 3],
    );
    assert.equal(history.at(-1)?.state?.state, 'JOB_STATE_SUCCEEDED');
    const again = await exported(cleanId);
    assert.deepEqual(Object.keys(again).sort(), Object.keys(cleanExport).sort());
    for (const name of Object.keys(cleanExport))
      assert.ok(again[name]?.equals(cleanExport[name] as Buffer), name);
    assert.ok((await predictions(cleanId)).equals(cleanPredictions), 'same predictions');
    assert.equal((await exported(id))['weights.bin']?.length, cleanExport['weights.bin']?.length);

    // Its workers stopped when the job ended (nothing orphaned).
    for (let i = 0; workerPids().length > 0; i++) {
      assert.ok(i < 100, `workers left: ${workerPids().join(',')}`);
      await sleep(200);
    }
  },
);
