/**
 * No process outlives its owner. `distrain up` is started with a unique env marker (inherited by
 * every process it starts, down to the workers), a job runs, then: the coordinator is SIGKILLed
 * (its workers exit at once, `up` restarts it on the same port), and `distrain up` itself is
 * SIGKILLed (its services and their workers exit within seconds). Processes are found by the marker
 * in /proc/PID/environ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { sleep } from '@distrain/core';
import { DistrainClient } from '@distrain/client';
import type { TrainingJobInput } from '@distrain/client';
import { startUp } from '../support/cli.ts';

let client: DistrainClient;
const MARKER = `DISTRAIN_TEST_ORPHAN_MARKER=${randomUUID()}`;

/** The processes carrying the marker, with their WorkerConfig role (or their entry for services). */
function marked(): { pid: number; what: string }[] {
  const out: { pid: number; what: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!env.includes(MARKER)) continue;
      const config = env.find((e) => e.startsWith('DISTRAIN_WORKER_CONFIG='));
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const role = /"role":"(\w+)","rank":(\d+)/.exec(config ?? '');
      const service = /services\/([\w-]+)\/|bin\/distrain\.js/.exec(cmd);
      out.push({
        pid: Number(entry),
        what: role ? `${role[1]}-${role[2]}` : (service?.[1] ?? service?.[0] ?? cmd),
      });
    } catch {
      // exited meanwhile, or not ours
    }
  }
  return out;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end)
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; marked: ${JSON.stringify(marked())}`);
    await sleep(100);
  }
}

/** Waits until the job has trained a step (its workers are past their startup). */
async function running(id: string): Promise<void> {
  for (;;) {
    const job = await client.get(id);
    if (Number(job.progress?.globalStep ?? 0) > 0) return;
    assert.ok(job.state === 'JOB_STATE_PENDING' || job.state === 'JOB_STATE_RUNNING', job.reason);
    await sleep(200);
  }
}

const SPEC: TrainingJobInput = {
  apiVersion: 'distrain.io/v1',
  kind: 'TrainingJob',
  metadata: { name: 'orphans' },
  spec: {
    dataset: { name: 'mnist', sampleCount: 2_000 },
    model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] },
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'sgd', learningRate: 0.01 },
    batchSize: 32,
    epochs: 200,
    trainers: { replicas: 2 },
  },
};

test(
  'SIGKILL of the coordinator ends its workers; SIGKILL of distrain up leaves no process behind',
  { timeout: 180_000 },
  async () => {
    const [name, value] = MARKER.split('=') as [string, string];
    const up = await startUp([], { env: { [name]: value } });
    client = new DistrainClient({ address: up.coordinator, token: up.token });
    try {
      const id = (await client.submit(SPEC)).id;
      await until(
        'trainers and the evaluator',
        () => {
          const w = marked().filter((p) => /^(trainer|evaluator)-/.test(p.what));
          return w.length === 3 ? w : undefined;
        },
        90_000,
      );
      await running(id);
      // The coordinator dies: its workers notice their parent's death and exit at once.
      const coordinator = marked().find((p) => p.what === 'coordinator');
      assert.ok(coordinator, JSON.stringify(marked()));
      const killedAt = Date.now();
      process.kill(coordinator.pid, 'SIGKILL');
      await until(
        'the workers to exit',
        () => (marked().some((p) => /^(trainer|evaluator)-/.test(p.what)) ? undefined : true),
        10_000,
      );
      const workersGoneMs = Date.now() - killedAt;
      // `distrain up` restarts it on the same port (without NATS the job is gone with it).
      await until(
        'a new coordinator',
        () => marked().find((p) => p.what === 'coordinator' && p.pid !== coordinator.pid),
        60_000,
      );
      await until(
        'the restart notice',
        () => (/coordinator restarted at/.test(up.stderr()) ? true : undefined),
        60_000,
      );
      const jobs = await client.list();
      assert.ok(!jobs.some((j) => j.id === id), 'a fresh coordinator (no NATS): the old job is gone');
      assert.match(
        up.stderr(),
        /coordinator at 127\.0\.0\.1:\d+ killed by SIGKILL; restarting it on the same port/,
      );

      // `distrain up` dies with a job running: its services and their workers exit within seconds.
      await running((await client.submit(SPEC)).id);
      const before = marked();
      assert.ok(
        before.filter((p) => /^(trainer|evaluator)-/.test(p.what)).length === 3 && before.length >= 7,
        `up, loader, shard, coordinator, 2 trainers, evaluator: ${JSON.stringify(before)}`,
      );
      const upKilledAt = Date.now();
      process.kill(up.child.pid as number, 'SIGKILL');
      await until('every marked process to exit', () => (marked().length === 0 ? true : undefined), 15_000);
      process.stderr.write(
        `workers gone ${workersGoneMs} ms after the coordinator's SIGKILL; all ${before.length} processes gone ${Date.now() - upKilledAt} ms after distrain up's SIGKILL\n`,
      );
    } finally {
      client.close();
      for (const p of marked()) process.kill(p.pid, 'SIGKILL');
    }
  },
);
