import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobStates } from '@distrain/core';
import { beat, fakeCoordinator, jobDoc, settle, idOf } from './test-fakes.ts';

test('list is newest first and filters by state; countByState counts each state', async () => {
  const c = fakeCoordinator();
  const a = idOf(await c.manager.submit(jobDoc()));
  await c.clock.advance(10);
  const b = idOf(await c.manager.submit(jobDoc()));
  await settle();
  await c.manager.cancel(a, '');
  assert.deepEqual(
    c.manager.list().map((j) => j.id),
    [b, a],
  );
  assert.deepEqual(
    c.manager.list(JobStates.cancelled).map((j) => j.id),
    [a],
  );
  assert.deepEqual(c.manager.countByState(), {
    pending: 0,
    running: 1,
    succeeded: 0,
    failed: 0,
    cancelled: 1,
  });
});

test('scrape targets: running workers that reported a metrics port, IPv6 hosts bracketed', async () => {
  const c = fakeCoordinator();
  const id = idOf(await c.manager.submit(jobDoc()));
  await settle();
  assert.deepEqual(c.manager.scrapeTargets(), []);
  c.manager.heartbeat(beat(id, 'trainer', 0, { metricsPort: 9100 }), '10.0.0.7');
  c.manager.heartbeat(beat(id, 'trainer', 1, { metricsPort: 9101 }), '::1');
  assert.deepEqual(c.manager.scrapeTargets(), [
    {
      targets: ['10.0.0.7:9100'],
      labels: { __meta_distrain_job_id: id, __meta_distrain_role: 'trainer', __meta_distrain_rank: '0' },
    },
    {
      targets: ['[::1]:9101'],
      labels: { __meta_distrain_job_id: id, __meta_distrain_role: 'trainer', __meta_distrain_rank: '1' },
    },
  ]);
  c.manager.heartbeat(beat(id, 'trainer', 1, { status: 'done' }));
  assert.equal(c.manager.scrapeTargets().length, 1);
  await c.manager.cancel(id, '');
  assert.deepEqual(c.manager.scrapeTargets(), []);
});

test('an export before any parameters exist says to wait', async () => {
  const c = fakeCoordinator();
  c.ps.initGate = new Promise(() => undefined);
  const id = idOf(await c.manager.submit(jobDoc()));
  await settle();
  await c.manager.cancel(id, '');
  await assert.rejects(
    c.manager.exportInputs(id),
    /has no parameters to export \(state JOB_STATE_CANCELLED\)/,
  );
});
