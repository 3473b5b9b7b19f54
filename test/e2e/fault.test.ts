/**
 * Faults a user of other systems has been bitten by: a trainer that dies or hangs must not hang the
 * job. A killed trainer is restarted and resumes from the parameter server's version; a hung one
 * (SIGSTOP) is detected by its missing heartbeats, killed and restarted; past the restart limit the
 * job fails with the reason instead of sitting at Running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobClient, sleep, unary } from '@distrain/core';
import type { Job__Output, JobServiceClient } from '@distrain/core';
import { ROOT, startUp } from '../support/cli.ts';
import { waitForJob } from '../support/jobs.ts';
import { startedWithMallocSettings } from '../support/malloc.ts';
import type { UpStack } from '../support/cli.ts';

let stack: UpStack;
let client: JobServiceClient;
const base = readFileSync(join(ROOT, 'examples/mnist-mlp.yaml'), 'utf8');

before(async () => {
  stack = await startUp();
  client = jobClient(stack.coordinator);
});
after(async () => {
  client?.close();
  await stack?.stop();
});

function spec(epochs: number, fault: string): string {
  return base.replace('epochs: 5', `epochs: ${epochs}\n  fault: ${fault}`);
}

async function job(id: string): Promise<Job__Output> {
  return (await unary(client, client.getJob, { id }, { timeoutMs: 5_000, retries: 3 })).job as Job__Output;
}

const waitFor = (id: string, done: (j: Job__Output) => boolean, timeoutMs: number): Promise<Job__Output> =>
  waitForJob(job, id, done, timeoutMs, 250);

/** Process id of a job's trainer of the given rank (the local launcher puts the config in its env). */
function trainerPid(jobId: string, rank: number): number {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    // TypeScript through tsx, or the compiled JavaScript the local stack runs by default.
    if (!/services\/trainer\/(src\/main\.ts|dist\/main\.js)/.test(line)) continue;
    const pid = Number(line.trim().split(/\s+/)[0]);
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (env.includes(`"jobId":"${jobId}"`) && env.includes(`"role":"trainer","rank":${rank},`)) return pid;
    } catch {
      // exited meanwhile
    }
  }
  assert.fail(`no trainer rank ${rank} of ${jobId} found`);
}

async function submit(text: string): Promise<string> {
  const res = await unary(client, client.submitJob, { spec: text }, { timeoutMs: 60_000 });
  return res.job?.id ?? '';
}

test('a killed trainer is restarted, resumes, and the job succeeds', { timeout: 240_000 }, async () => {
  const id = await submit(spec(3, '{ stragglerTimeoutMs: 5000, maxRestarts: 2 }'));
  await waitFor(id, (j) => Number(j.progress?.globalStep ?? 0) > 30, 120_000);
  const pid = trainerPid(id, 1);
  // The local launcher starts workers with distrain's malloc settings (role-entry.ts).
  assert.ok(startedWithMallocSettings(pid), 'the trainer started with GLIBC_TUNABLES');
  process.kill(pid, 'SIGKILL');
  const final = await waitFor(
    id,
    (j) => j.state !== 'JOB_STATE_RUNNING' && j.state !== 'JOB_STATE_PENDING',
    180_000,
  );
  assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
  assert.equal(final.epochs.length, 3);
  assert.ok((final.epochs.at(-1)?.testAccuracy ?? 0) > 0.85);
});

test(
  'a hung trainer (SIGSTOP) is detected by its heartbeats, replaced, and the job succeeds',
  { timeout: 240_000 },
  async () => {
    const id = await submit(spec(2, '{ stragglerTimeoutMs: 3000, maxRestarts: 2 }'));
    await waitFor(id, (j) => Number(j.progress?.globalStep ?? 0) > 30, 120_000);
    const pid = trainerPid(id, 0);
    process.kill(pid, 'SIGSTOP');
    try {
      const final = await waitFor(
        id,
        (j) => j.state !== 'JOB_STATE_RUNNING' && j.state !== 'JOB_STATE_PENDING',
        180_000,
      );
      assert.equal(final.state, 'JOB_STATE_SUCCEEDED', final.reason);
      assert.equal(final.epochs.length, 2);
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone: the coordinator killed it
      }
    }
  },
);

test(
  'past the restart limit the job fails with the reason, not stuck at Running',
  { timeout: 180_000 },
  async () => {
    const id = await submit(spec(20, '{ stragglerTimeoutMs: 5000, maxRestarts: 0 }'));
    await waitFor(id, (j) => Number(j.progress?.globalStep ?? 0) > 10, 120_000);
    process.kill(trainerPid(id, 1), 'SIGKILL');
    const final = await waitFor(id, (j) => j.state !== 'JOB_STATE_RUNNING', 60_000);
    assert.equal(final.state, 'JOB_STATE_FAILED');
    assert.match(final.reason, /trainer rank 1 failed 1 times \(restart limit 0\)/);
    // Teardown ran: the other trainer is gone too.
    await sleep(2_000);
    assert.throws(() => trainerPid(id, 0));
  },
);

test(
  'onTrainerFailure: fail ends the job at the first trainer failure, with the reason',
  { timeout: 180_000 },
  async () => {
    const id = await submit(spec(20, '{ stragglerTimeoutMs: 5000, maxRestarts: 5, onTrainerFailure: fail }'));
    await waitFor(id, (j) => Number(j.progress?.globalStep ?? 0) > 10, 120_000);
    process.kill(trainerPid(id, 0), 'SIGKILL');
    const final = await waitFor(id, (j) => j.state !== 'JOB_STATE_RUNNING', 60_000);
    assert.equal(final.state, 'JOB_STATE_FAILED');
    assert.match(final.reason, /trainer rank 0 failed and spec\.fault\.onTrainerFailure is "fail"/);
  },
);
