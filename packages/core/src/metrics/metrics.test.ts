import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Registry } from 'prom-client';
import { createPsMetrics } from '../ps/metrics.ts';
import {
  createCoordinatorMetrics,
  createEvaluatorMetrics,
  createLoaderMetrics,
  createRoleRegistry,
  createTrainerMetrics,
  startMetricsServer,
} from './index.ts';

/** Runs `promtool check metrics` on an exposition; promtool is a test dependency (Debian prometheus). */
function promtoolCheck(exposition: string): { ok: boolean; output: string } {
  const res = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (res.error) throw new Error(`promtool is required (apt-get install prometheus): ${res.error.message}`);
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

async function filled(role: string): Promise<Registry> {
  const registry = createRoleRegistry();
  switch (role) {
    case 'trainer':
      createTrainerMetrics(registry, { jobId: 'j-1', rank: 0 }).step({
        seconds: 0.05,
        dataSeconds: 0.001,
        computeSeconds: 0.03,
        psSeconds: 0.019,
        samples: 32,
        loss: Number.NaN,
        globalStep: 3,
        epoch: 1,
      });
      break;
    case 'evaluator': {
      const m = createEvaluatorMetrics(registry, { jobId: 'j-1' });
      m.epoch({ epoch: 1, testAccuracy: 0.9, testLoss: 0.3, samples: 100, evalSeconds: 0.5 });
      m.epoch({ epoch: 2, testAccuracy: 0.85, testLoss: 0.4, samples: 100, evalSeconds: 0.5 });
      break;
    }
    case 'loader':
      createLoaderMetrics(registry, { streams: () => 2, queuedBatches: () => 3 }).batch({
        jobId: 'j-1',
        split: 'train',
        samples: 32,
        bytes: 25_000,
      });
      break;
    case 'ps':
      createPsMetrics(registry, 0).onAggregate('j-1', 0.002, 1000, 1000);
      break;
    default: {
      const m = createCoordinatorMetrics(registry, () => ({
        pending: 0,
        running: 1,
        succeeded: 2,
        failed: 0,
        cancelled: 0,
      }));
      m.jobStarted('j-1', ['trainer', 'evaluator'], 0);
      m.progress('j-1', 10, 0.5);
      m.launched('trainer');
      m.restarted('j-1', 'trainer');
    }
  }
  return registry;
}

for (const role of ['coordinator', 'trainer', 'evaluator', 'loader', 'ps']) {
  test(`${role} metrics: promtool accepts the exposition; names and labels follow the conventions`, async () => {
    const registry = await filled(role);
    const text = await registry.metrics();
    const check = promtoolCheck(text);
    assert.ok(check.ok, check.output);
    const ours = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('distrain_'));
    assert.ok(ours.length >= 3, `${role} declares its metrics`);
    for (const m of ours) {
      assert.ok(m.name.startsWith(`distrain_${role}_`), `${m.name} is named distrain_${role}_<what>_<unit>`);
      assert.equal(
        String(m.type) === 'counter',
        m.name.endsWith('_total'),
        `${m.name}: counters, and only counters, end in _total`,
      );
      for (const v of m.values as { labels: Record<string, unknown> }[]) {
        for (const label of Object.keys(v.labels))
          assert.ok(label !== 'job' && label !== 'instance', `${m.name} uses label ${label}`);
      }
    }
    // Default process metrics come along.
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });
}

test('evaluator: accuracy per epoch and the change between epochs', async () => {
  const registry = await filled('evaluator');
  const text = await registry.metrics();
  assert.match(text, /distrain_evaluator_test_accuracy\{job_id="j-1",epoch="1"\} 0\.9/);
  assert.match(text, /distrain_evaluator_test_accuracy\{job_id="j-1",epoch="2"\} 0\.85/);
  const change = /distrain_evaluator_test_accuracy_change\{job_id="j-1"\} (\S+)/.exec(text);
  assert.ok(change && Math.abs(Number(change[1]) + 0.05) < 1e-9, text);
});

test("coordinator: a job's running-only series go when it ends; the jobs gauge reads live counts", async () => {
  const registry = createRoleRegistry();
  const m = createCoordinatorMetrics(registry, () => ({
    pending: 1,
    running: 0,
    succeeded: 4,
    failed: 0,
    cancelled: 0,
  }));
  m.jobStarted('j-2', ['trainer'], 0);
  m.progress('j-2', 5, 0.7);
  assert.match(await registry.metrics(), /distrain_coordinator_job_global_step\{job_id="j-2"\} 5/);
  m.jobEnded('j-2');
  const text = await registry.metrics();
  assert.doesNotMatch(text, /distrain_coordinator_job_global_step\{job_id="j-2"\}/);
  assert.match(text, /distrain_coordinator_jobs\{state="succeeded"\} 4/);
  assert.match(text, /distrain_coordinator_worker_restarts_total\{job_id="j-2",role="trainer"\} 0/);
});

test('metrics server: /metrics, /healthz, JSON routes, 404; port 0 picks a free port', async () => {
  const registry = await filled('trainer');
  const server = await startMetricsServer({
    registry,
    port: 0,
    routes: { '/sd/workers': () => [{ targets: ['127.0.0.1:1'], labels: {} }] },
  });
  try {
    assert.ok(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await metrics.text(), /distrain_trainer_steps_total\{job_id="j-1",rank="0"\} 1/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.deepEqual(await (await fetch(`${base}/sd/workers`)).json(), [
      { targets: ['127.0.0.1:1'], labels: {} },
    ]);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await server.close();
  }
});
