/**
 * The fault suite for the roles test/e2e/fault.test.ts does not kill: the evaluator and the
 * data-loader are SIGKILLed in the middle of a job on the local stack of `distrain up`/`run`
 * (startLocalStack, the CLI's own code). The coordinator restarts the evaluator; the stack's
 * supervisor restarts the data-loader on the same port after a 10 s outage, which the trainers and
 * the evaluator ride out. Each job ends Succeeded with the accuracy of a clean run of the same spec
 * and seed (within 1 point), and the loader outage is in the job's events.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { sleep } from '@distrain/core';
import type { ParentNotice } from '@distrain/core';
import { DistrainClient } from '@distrain/client';
import type { TrainingJobInput } from '@distrain/client';
import type { Job__Output } from '@distrain/core';
import { startLocalStack } from '../../packages/cli/src/local-stack.ts';
import type { LocalStack } from '../../packages/cli/src/local-stack.ts';

/** The loader stays down this long before its restart (the supervisor's first backoff). */
const OUTAGE_MS = 10_000;

const SPEC: TrainingJobInput = {
  apiVersion: 'distrain.io/v1',
  kind: 'TrainingJob',
  metadata: { name: 'fault-roles' },
  spec: {
    seed: 42,
    dataset: { name: 'mnist', sampleCount: 3_000 },
    model: {
      layers: [
        { type: 'flatten' },
        { type: 'dense', units: 64, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'adam', learningRate: 0.002 },
    batchSize: 32,
    epochs: 3,
    trainers: { replicas: 2 },
    fault: { stragglerTimeoutMs: 30_000, maxRestarts: 3 },
  },
};

let stack: LocalStack;
let client: DistrainClient;
const notices: ParentNotice[] = [];
let clean: Job__Output;

before(async () => {
  stack = await startLocalStack({
    restartPolicy: { backoffMs: OUTAGE_MS, maxRestarts: 2 },
    onNotice: (n) => notices.push(n),
  });
  client = new DistrainClient({ address: stack.coordinator, token: stack.token });
  const id = (await client.submit(SPEC)).id;
  clean = await client.waitForEnd(id);
  assert.equal(clean.state, 'JOB_STATE_SUCCEEDED', clean.reason);
});
after(async () => {
  client?.close();
  await stack?.stop();
});

const accuracy = (job: Job__Output): number => job.epochs.at(-1)?.testAccuracy ?? 0;

/** The pid of a job's worker (the local launcher passes its WorkerConfig in the env). */
function workerPid(jobId: string, role: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (env.includes(`"jobId":"${jobId}"`) && env.includes(`"role":"${role}"`)) return Number(entry);
    } catch {
      // exited meanwhile, or not ours
    }
  }
  return undefined;
}

async function untilStep(id: string, step: number): Promise<void> {
  for (;;) {
    const job = await client.get(id);
    if (Number(job.progress?.globalStep ?? 0) >= step) return;
    assert.equal(job.state === 'JOB_STATE_RUNNING' || job.state === 'JOB_STATE_PENDING', true, job.reason);
    await sleep(100);
  }
}

test('the clean run trains', () => {
  assert.equal(clean.epochs.length, 3);
  assert.ok(accuracy(clean) > 0.8, `clean accuracy ${accuracy(clean)}`);
  process.stderr.write(`clean run: accuracy ${accuracy(clean)}\n`);
});

test(
  'SIGKILL of the evaluator mid-job: restarted, every epoch evaluated, same accuracy',
  { timeout: 240_000 },
  async () => {
    const id = (await client.submit(SPEC)).id;
    const spe = Math.ceil(2_400 / 32);
    await untilStep(id, spe + 10); // epoch 1's snapshot exists; the evaluator is at work
    const pid = workerPid(id, 'evaluator');
    assert.ok(pid, 'the evaluator runs');
    process.kill(pid, 'SIGKILL');
    const final = await client.waitForEnd(id);
    assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
    assert.deepEqual(
      final.epochs.map((e) => e.epoch),
      [1, 2, 3],
    );
    assert.ok(
      Math.abs(accuracy(final) - accuracy(clean)) <= 0.01,
      `${accuracy(final)} vs clean ${accuracy(clean)}`,
    );
    process.stderr.write(`evaluator SIGKILL: accuracy ${accuracy(final)} (clean ${accuracy(clean)})\n`);
  },
);

test(
  'SIGKILL of the data-loader mid-job: down 10 s, restarted on its port, the trainers wait, same accuracy',
  { timeout: 240_000 },
  async () => {
    const id = (await client.submit(SPEC)).id;
    const events: string[] = [];
    const watching = client.waitForEnd(id, {
      onEvent: (e) => {
        if (e.event === 'log') events.push(`${e.log.source}: ${e.log.message}`);
      },
    });
    await untilStep(id, 20);
    const loader = stack.services.find((s) => s.name === 'data-loader');
    assert.ok(loader);
    const killedAt = Date.now();
    process.kill(loader.child.pid as number, 'SIGKILL');
    const final = await watching;
    assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
    assert.equal(loader.restarts, 1);
    const restarted = notices.find((n) => n.service === 'data-loader' && n.type === 'service-restarted');
    assert.ok(restarted, JSON.stringify(notices));
    assert.ok(Date.now() - killedAt >= OUTAGE_MS);
    assert.equal(Number(final.progress?.globalStep), Number(final.progress?.totalSteps));
    assert.equal(final.epochs.length, 3);
    assert.ok(
      Math.abs(accuracy(final) - accuracy(clean)) <= 0.01,
      `${accuracy(final)} vs clean ${accuracy(clean)}`,
    );
    // The job's events say what happened: the stack's notices and the trainers' waiting.
    const text = events.join('\n');
    assert.match(
      text,
      /coordinator: data-loader at 127\.0\.0\.1:\d+ killed by SIGKILL; restarting it on the same port/,
    );
    assert.match(text, /coordinator: data-loader restarted at 127\.0\.0\.1:\d+/);
    assert.match(
      text,
      /trainer-\d: waiting for the data-loader: data-loader at 127\.0\.0\.1:\d+ unreachable/,
    );
    assert.match(text, /trainer-\d: data-loader at 127\.0\.0\.1:\d+ is back after \d+\.\d s/);
    process.stderr.write(`data-loader SIGKILL: accuracy ${accuracy(final)} (clean ${accuracy(clean)})\n`);
  },
);
