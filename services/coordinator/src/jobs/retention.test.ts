import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobStates, NotFoundError } from '@distrain/core';
import type { ParamMap } from '@distrain/core';
import { FileBlobStore } from '@distrain/core/events';
import { MemoryJobRecordStore } from '../ports.ts';
import { JobResults, decodeParams, encodeParams } from './results.ts';
import { FakeParameterServers, beat, fakeCoordinator, idOf, jobDoc, settle } from './test-fakes.ts';

/** Ended jobs kept in memory (bounded), evicted ones answered from the store, and durable artifacts. */

const params = (): ParamMap =>
  new Map([
    ['l1_dense/kernel', Float32Array.from({ length: 7 }, (_, i) => i / 3 - 1)],
    ['l1_dense/bias', Float32Array.from([0.5, -2, Number.MIN_VALUE])],
  ]);

test('parameters survive encode/decode bit for bit; a foreign or truncated blob is refused', () => {
  const p = params();
  const blob = encodeParams(p);
  assert.equal(blob.length % 4, 0);
  const back = decodeParams(blob);
  assert.deepEqual([...back.keys()], [...p.keys()]);
  for (const [k, v] of p) assert.deepEqual(back.get(k), v);
  assert.throws(() => decodeParams(blob.subarray(0, blob.length - 4)), /truncated at l1_dense\/bias/);
  assert.throws(() => decodeParams(Buffer.from('{"format":"x"}')), /not distrain-params-v1|truncated/);
  assert.throws(() => decodeParams(new Uint8Array(2)), /truncated/);
});

test('the file blob store keeps text artifacts and refuses names that would leave its folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distrain-blobs-'));
  try {
    const blobs = new FileBlobStore(dir);
    const results = new JobResults(blobs);
    const text = { vocabulary: ['<pad>', '<unk>', 'hello'], testTexts: ['hello there'], statsJson: '{}' };
    await results.save('text-job-1', { text });
    assert.deepEqual(await results.loadText('text-job-1'), text);
    assert.equal(await results.loadText('other-job'), undefined);
    for (const id of ['../../etc', '..', '.hidden', 'a..b'])
      assert.deepEqual(await results.load(id), {}, `${id}: no job id, nothing stored`);
    for (const name of ['../x', 'a/../../x', '/abs', 'a//b', 'a b'])
      await assert.rejects(blobs.put(name, new Uint8Array(1)), /invalid blob name/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('at most maxEndedJobs ended jobs stay in memory; evicted ones are found, listed and watched from the store', async () => {
  const c = fakeCoordinator({ maxEndedJobs: 2 });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const id = idOf(await c.manager.submit(jobDoc()));
    await settle();
    ids.push(id);
  }
  const running = ids[3] as string;
  for (const id of ids.slice(0, 3)) {
    await c.clock.advance(1_000);
    await c.manager.cancel(id, `cancel ${id}`);
  }
  // In memory: the two newest ended jobs and the running one.
  assert.deepEqual([...c.manager.list()].map((j) => j.id).sort(), [ids[1], ids[2], running].sort());
  const oldest = ids[0] as string;
  assert.throws(() => c.manager.get(oldest), NotFoundError);
  assert.equal(c.events.replay(oldest).length, 0, 'its events left memory too');
  // ... but lookups still answer from the store.
  const found = await c.manager.find(oldest);
  assert.equal(found.state, JobStates.cancelled);
  assert.equal(found.reason, `cancel ${oldest}`);
  assert.deepEqual((await c.manager.listAll()).map((j) => j.id).sort(), [...ids].sort());
  assert.deepEqual(
    (await c.manager.listAll(JobStates.cancelled)).map((j) => j.id).sort(),
    ids.slice(0, 3).sort(),
  );
  assert.equal((await c.manager.cancel(oldest, 'again')).state, JobStates.cancelled, 'cancel is a no-op');
  await assert.rejects(c.manager.find('no-such-job'), NotFoundError);
  // A late heartbeat of an evicted job's worker is told to stop (not NOT_FOUND).
  assert.deepEqual(c.manager.heartbeat(beat(oldest, 'trainer', 0)), { stop: true, reason: 'job ended' });
  // A running job is never evicted, however many jobs end.
  assert.equal(c.manager.get(running).state, JobStates.running);
});

test('without a store an evicted job is NOT_FOUND', async () => {
  const store = new MemoryJobRecordStore();
  const c = fakeCoordinator({ maxEndedJobs: 0, store });
  const id = idOf(await c.manager.submit(jobDoc()));
  await settle();
  await c.manager.cancel(id, '');
  store.records.clear(); // what a coordinator without NATS has: nothing beyond its memory
  await assert.rejects(c.manager.find(id), NotFoundError);
  await assert.rejects(c.manager.exportInputs(id), NotFoundError);
});

test('final parameters and predictions are kept in durable files; export and predictions work after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'distrain-results-'));
  try {
    const results = new JobResults(new FileBlobStore(dir));
    const ps = new FakeParameterServers();
    const a = fakeCoordinator({ results, parameterServers: ps, keepJobsOnClose: true });
    const id = idOf(await a.manager.submit(jobDoc({ evaluation: { enabled: true } })));
    await settle();
    ps.params.set(id, params());
    a.manager.reportEvaluation(
      id,
      { epoch: 1, testAccuracy: 0.5, testLoss: 1, numSamples: 2 },
      Buffer.from('index,label\n0,1\n'),
    );
    for (const [role, rank] of [
      ['trainer', 0],
      ['trainer', 1],
      ['evaluator', 0],
    ] as const)
      a.manager.heartbeat(beat(id, role, rank, { status: 'done' }));
    await settle();
    const record = a.manager.get(id);
    assert.equal(record.state, JobStates.succeeded);
    await record.teardown; // real file writes: more than a few promise hops
    assert.equal(record.finalParams, undefined, 'kept durably, not in memory');
    assert.deepEqual(readdirSync(join(dir, 'jobs', id)).sort(), ['params.bin', 'predictions.csv']);
    const exported = await a.manager.exportInputs(id);
    assert.deepEqual(exported.params, params());
    assert.equal((await a.manager.predictions(id)).toString(), 'index,label\n0,1\n');

    // A new coordinator (nothing in memory) on the same record store and result files.
    const b = fakeCoordinator({ results, store: a.store });
    await b.manager.restore(await a.store.loadJobs());
    assert.deepEqual((await b.manager.exportInputs(id)).params, params());
    assert.equal((await b.manager.predictions(id)).toString(), 'index,label\n0,1\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a job that leaves memory while ListJobs reads the store is listed once', async () => {
  const hook: { during?: () => Promise<unknown> } = {};
  class SlowStore extends MemoryJobRecordStore {
    override async loadJobs(): Promise<unknown[]> {
      await hook.during?.();
      return super.loadJobs();
    }
  }
  const c = fakeCoordinator({ maxEndedJobs: 0, store: new SlowStore() });
  const id = idOf(await c.manager.submit(jobDoc()));
  await settle();
  hook.during = () => c.manager.cancel(id, 'while listing');
  assert.deepEqual(
    (await c.manager.listAll()).map((j) => j.id),
    [id],
  );
  assert.throws(() => c.manager.get(id), NotFoundError, 'it did leave memory');
});
