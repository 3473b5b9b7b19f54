/**
 * A parameter-server shard killed mid-job (SIGKILL) and restarted by its supervisor (here the test,
 * as Kubernetes or `distrain up` would) on the same ports with the same checkpoint folder: the
 * coordinator re-initializes it from its newest checkpoint and rolls every shard back to one
 * version; the trainers ride out the outage, pull the restored parameters and redo at most
 * `checkpoint.everySteps` steps; the job ends Succeeded with the accuracy of a clean run of the same
 * spec and seed (2 trainers, 2 shards, digits).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DistrainClient } from '@distrain/client';
import type { TrainingJobInput, WatchEvent } from '@distrain/client';
import { ROOT } from '../support/cli.ts';
import { freePort } from '../support/prometheus.ts';
import { startService } from '../support/services.ts';
import type { ServiceProcess } from '../support/services.ts';

const EVERY = 25;
const dir = mkdtempSync(join(tmpdir(), 'distrain-fault-ps-'));
let loader: ServiceProcess;
let coordinator: ServiceProcess;
const shards: ServiceProcess[] = [];
const shardArgs: string[][] = [];
let client: DistrainClient;

function spec(): TrainingJobInput {
  const job = parseYaml(readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8')) as TrainingJobInput;
  job.spec.dataset = { ...job.spec.dataset, sampleCount: 3000 }; // 2400 train: 75 steps per epoch
  job.spec.batchSize = 32;
  job.spec.epochs = 3;
  job.spec.trainers = { replicas: 2 };
  job.spec.parameterServer = { shards: 2 };
  job.spec.checkpoint = { everySteps: EVERY };
  job.spec.fault = { stragglerTimeoutMs: 60_000, maxRestarts: 2 };
  return job;
}

before(async () => {
  loader = await startService('data-loader', ['--port', '0']);
  for (let i = 0; i < 2; i++) {
    const s = await startService('parameter-server', [
      '--port',
      '0',
      '--shard-index',
      String(i),
      '--checkpoint-dir',
      join(dir, `ps-${i}`),
    ]);
    shards.push(s);
    // A restart reuses the ports (a StatefulSet pod keeps its name and Service).
    shardArgs.push([
      '--port',
      String(s.port),
      '--data-port',
      String(s.listening['dataPort']),
      '--shard-index',
      String(i),
      '--checkpoint-dir',
      join(dir, `ps-${i}`),
    ]);
  }
  const port = await freePort();
  coordinator = await startService('coordinator', [
    '--port',
    String(port),
    '--loader',
    `127.0.0.1:${loader.port}`,
    '--ps',
    shards.map((s) => `127.0.0.1:${s.port}`).join(','),
  ]);
  client = new DistrainClient({ address: `127.0.0.1:${port}` });
});

after(async () => {
  client?.close();
  await coordinator?.stop();
  await Promise.all(shards.map((s) => s.stop()));
  await loader?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the job to its end; `onStep` sees every step event. Returns every event. */
async function run(onStep?: (globalStep: number) => Promise<void>): Promise<WatchEvent[]> {
  const job = await client.submit(spec());
  const events: WatchEvent[] = [];
  for await (const e of client.watch(job.id)) {
    events.push(e);
    if (e.event === 'step' && onStep) await onStep(Number(e.step.progress?.globalStep ?? 0));
  }
  return events;
}

const finalState = (events: WatchEvent[]) =>
  events.filter((e) => e.event === 'state').at(-1) as Extract<WatchEvent, { event: 'state' }>;
const accuracies = (events: WatchEvent[]) =>
  events.flatMap((e) => (e.event === 'epoch' ? [Number(e.epoch.testAccuracy)] : []));

test(
  'SIGKILL of a shard mid-job: restored from its checkpoint, at most everySteps redone, same accuracy as a clean run',
  { timeout: 300_000 },
  async () => {
    const t0 = Date.now();
    const clean = await run();
    assert.equal(finalState(clean).state.state, 'JOB_STATE_SUCCEEDED', finalState(clean).state.reason);
    const cleanAcc = accuracies(clean);
    assert.equal(cleanAcc.length, 3);
    const cleanMs = Date.now() - t0;

    let killedAt = 0;
    const t1 = Date.now();
    const faulty = await run(async (step) => {
      if (killedAt > 0 || step < 2 * EVERY + 10) return;
      killedAt = step;
      await shards[1]?.stop('SIGKILL');
      shards[1] = await startService('parameter-server', shardArgs[1] as string[]);
    });
    const faultyMs = Date.now() - t1;
    assert.ok(killedAt > 0, 'the shard was killed mid-job');
    const end = finalState(faulty);
    assert.equal(end.state.state, 'JOB_STATE_SUCCEEDED', end.state.reason);
    const logs = faulty.flatMap((e) => (e.event === 'log' ? [e.log.message] : []));
    const recovery = logs.find((m) => m.startsWith('parameter server shard 1 restarted'));
    assert.ok(recovery, `the job's events say what happened:\n${logs.join('\n')}`);
    const m = /restored from step (\d+);.*redoing (\d+) steps/.exec(recovery);
    assert.ok(m, recovery);
    const [restored, redone] = [Number(m[1]), Number(m[2])];
    assert.ok(
      (restored > 0 && restored % EVERY === 0) || restored % 75 === 0,
      `restored from a checkpoint: ${restored}`,
    );
    assert.ok(redone <= EVERY, `redone ${redone} steps, the interval is ${EVERY}`);
    const acc = accuracies(faulty);
    assert.equal(acc.length, 3, 'every epoch evaluated once');
    assert.ok(
      Math.abs((acc.at(-1) as number) - (cleanAcc.at(-1) as number)) <= 0.01,
      `accuracy ${acc.at(-1)} vs clean ${cleanAcc.at(-1)}`,
    );
    console.log(
      JSON.stringify({
        killedAt,
        restored,
        redone,
        accuracy: acc.at(-1),
        clean: cleanAcc.at(-1),
        cleanMs,
        faultyMs,
      }),
    );
  },
);
