import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbortedError, StateError, TimeoutError } from '@distrain/core';
import { StepBarrier } from './barrier.ts';
import type { CallContext } from './wait.ts';

interface C {
  sampleCount: number;
  tag: string;
}

/** A barrier whose result names the contributions it was completed with, in order. */
function barrier(worldSize: number, version = 0) {
  const completions: { tags: string[]; version: number; waiting: number }[] = [];
  const b = new StepBarrier<C, string>(
    'job',
    worldSize,
    {
      complete(ordered, v, waiting) {
        completions.push({ tags: ordered.map((c) => c.tag), version: v, waiting });
        return `v${v}:${ordered.map((c) => c.tag).join(',')}`;
      },
      current: () => `current`,
    },
    version,
  );
  return { b, completions };
}

const ctx = (ms = 5_000, signal?: AbortSignal): CallContext => ({
  deadlineMs: Date.now() + ms,
  ...(signal ? { signal } : {}),
});
const c = (tag: string, sampleCount = 1): C => ({ tag, sampleCount });

test('barrier: completes when every member pushed, in rank order, answering every push alike', async () => {
  const { b, completions } = barrier(3);
  const p2 = b.push(2, 0, c('r2'), ctx());
  const p0 = b.push(0, 0, c('r0'), ctx());
  assert.equal(completions.length, 0, 'rank 1 missing');
  assert.deepEqual(b.pushed().sort(), [0, 2]);
  const p1 = b.push(1, 0, c('r1'), ctx());
  assert.deepEqual(await Promise.all([p0, p1, p2]), ['v1:r0,r1,r2', 'v1:r0,r1,r2', 'v1:r0,r1,r2']);
  assert.deepEqual(completions, [{ tags: ['r0', 'r1', 'r2'], version: 1, waiting: 3 }]);
  assert.equal(b.version, 1);
  assert.deepEqual(b.pushed(), []);
});

test('barrier: a duplicate push keeps the first contribution and waits too', async () => {
  const { b, completions } = barrier(2);
  const first = b.push(0, 0, c('first'), ctx());
  const dup = b.push(0, 0, c('dup'), ctx());
  const other = b.push(1, 0, c('r1'), ctx());
  assert.deepEqual(await Promise.all([first, dup, other]), ['v1:first,r1', 'v1:first,r1', 'v1:first,r1']);
  assert.equal(completions.length, 1);
  assert.equal(completions[0]?.waiting, 3);
});

test('barrier: a late push of an applied step is answered with the current state, never applied again', async () => {
  const { b, completions } = barrier(1);
  assert.equal(await b.push(0, 0, c('a'), ctx()), 'v1:a');
  assert.equal(await b.push(0, 0, c('again'), ctx()), 'current');
  assert.equal(completions.length, 1);
  assert.equal(b.version, 1);
});

test('barrier: a push ahead of the barrier and a non-member push are refused with StateError', () => {
  const { b } = barrier(2, 5);
  assert.throws(
    () => b.push(0, 6, c('x'), ctx()),
    (e: unknown) => e instanceof StateError && /ahead of the barrier/.test(e.message) && e.field === 'step',
  );
  assert.throws(
    () => b.push(7, 5, c('x'), ctx()),
    (e: unknown) => e instanceof StateError && /not a member/.test(e.message) && e.field === 'rank',
  );
  assert.deepEqual(b.pushed(), []);
});

test('barrier: the deadline ends the wait with TimeoutError naming who pushed; the contribution stays', async () => {
  const { b, completions } = barrier(2);
  await assert.rejects(
    b.push(0, 0, c('r0'), ctx(20)),
    (e: unknown) => e instanceof TimeoutError && /pushed 0, members 0,1/.test(e.message),
  );
  assert.deepEqual(b.pushed(), [0], 'kept for a retry');
  // The retry only waits; rank 1 completes the step with the first contribution.
  const retry = b.push(0, 0, c('retry'), ctx());
  assert.equal(await b.push(1, 0, c('r1'), ctx()), 'v1:r0,r1');
  assert.equal(await retry, 'v1:r0,r1');
  assert.equal(completions.length, 1);
});

test('barrier: a cancelled call ends with AbortedError and leaves no waiter behind', async () => {
  const { b, completions } = barrier(2);
  const ac = new AbortController();
  const p = b.push(0, 0, c('r0'), ctx(5_000, ac.signal));
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof AbortedError);
  assert.equal(await b.push(1, 0, c('r1'), ctx()), 'v1:r0,r1');
  assert.equal(completions[0]?.waiting, 1, 'only rank 1 was still waiting');
});

test('barrier: evicting the missing rank mid-step completes the step with the others', async () => {
  const { b, completions } = barrier(3);
  const p0 = b.push(0, 0, c('r0'), ctx());
  const p2 = b.push(2, 0, c('r2'), ctx());
  assert.deepEqual(b.setMembers([2, 0, 0]), [0, 2]);
  assert.deepEqual(await Promise.all([p0, p2]), ['v1:r0,r2', 'v1:r0,r2']);
  assert.deepEqual(completions[0]?.tags, ['r0', 'r2']);
  assert.deepEqual(b.members, [0, 2]);
});

test('barrier: an evicted rank that already pushed is failed and its push does not count', async () => {
  const { b, completions } = barrier(3);
  const p1 = b.push(1, 0, c('r1'), ctx());
  const p0 = b.push(0, 0, c('r0'), ctx());
  b.setMembers([0, 2]);
  await assert.rejects(p1, (e: unknown) => e instanceof StateError && /rank 1 was evicted/.test(e.message));
  assert.deepEqual(b.pushed(), [0]);
  assert.equal(completions.length, 0, 'rank 2 still missing');
  assert.equal(await b.push(2, 0, c('r2'), ctx()), 'v1:r0,r2');
  assert.equal(await p0, 'v1:r0,r2');
});

test('barrier: a rank added mid-step must push before the step completes', async () => {
  const { b, completions } = barrier(1);
  b.setMembers([0, 1]);
  const p0 = b.push(0, 0, c('r0'), ctx());
  assert.equal(completions.length, 0);
  assert.equal(await b.push(1, 0, c('r1'), ctx()), 'v1:r0,r1');
  assert.equal(await p0, 'v1:r0,r1');
});

test('barrier: abort fails every waiting push and drops the pending step', async () => {
  const { b, completions } = barrier(2);
  const p0 = b.push(0, 0, c('r0'), ctx());
  b.abort(new AbortedError('job ended'));
  await assert.rejects(p0, /job ended/);
  assert.deepEqual(b.pushed(), []);
  assert.equal(completions.length, 0);
});

test('barrier: an async prepare holds the step (later pushes wait), then completes with its value', async () => {
  const completions: { tags: string[]; prepared: number }[] = [];
  let release!: (n: number) => void;
  const prepares: number[] = [];
  const b = new StepBarrier<C, string>('job', 2, {
    prepare(ordered, step) {
      prepares.push(step);
      return new Promise<number>((r) => (release = r));
    },
    complete(ordered, v, _waiting, prepared) {
      completions.push({ tags: ordered.map((x) => x.tag), prepared });
      return `v${v}`;
    },
    current: () => 'current',
  });
  const p0 = b.push(0, 0, c('r0'), ctx());
  const p1 = b.push(1, 0, c('r1'), ctx());
  const dup = b.push(1, 0, c('r1-again'), ctx());
  assert.deepEqual(prepares, [0], 'prepared once');
  assert.equal(b.version, 0);
  release(2.5);
  assert.deepEqual(await Promise.all([p0, p1, dup]), ['v1', 'v1', 'v1']);
  assert.deepEqual(completions, [{ tags: ['r0', 'r1'], prepared: 2.5 }]);
  assert.equal(b.version, 1);
});

test('barrier: a failed prepare fails the waiting pushes, keeps the contributions, and a retry completes', async () => {
  let attempt = 0;
  const b = new StepBarrier<C, string>('job', 2, {
    prepare: () => (++attempt === 1 ? Promise.reject(new TimeoutError('norms late')) : Promise.resolve(1)),
    complete: (ordered, v, _w, prepared) => `v${v}:${ordered.map((x) => x.tag).join(',')}:${prepared}`,
    current: () => 'current',
  });
  const p0 = b.push(0, 0, c('r0'), ctx());
  const p1 = b.push(1, 0, c('r1'), ctx());
  await assert.rejects(p0, TimeoutError);
  await assert.rejects(p1, TimeoutError);
  assert.equal(b.version, 0);
  assert.equal(await b.push(0, 0, c('retry'), ctx()), 'v1:r0,r1:1');
});

test('barrier: without prepare the completion gets NaN; abort during prepare applies nothing', async () => {
  const { b } = barrier(1);
  assert.equal(await b.push(0, 0, c('a'), ctx()), 'v1:a');
  let release!: (n: number) => void;
  let applied = 0;
  const held = new StepBarrier<C, string>('job', 1, {
    prepare: () => new Promise<number>((r) => (release = r)),
    complete: () => String(++applied),
    current: () => 'current',
  });
  const p = held.push(0, 0, c('a'), ctx());
  held.abort(new AbortedError('job ended'));
  await assert.rejects(p, AbortedError);
  release(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(applied, 0);
  assert.equal(held.version, 0);
});

void test('counts: only a first push of the pending step is counted', async () => {
  const b = new StepBarrier<{ sampleCount: number }, number>('j', 2, {
    complete: (_o, version) => version,
    current: () => -1,
  });
  assert.equal(b.counts(0, 0), true);
  assert.equal(b.counts(0, 1), false, 'ahead of the barrier');
  const p = b.push(0, 0, { sampleCount: 1 }, { deadlineMs: Date.now() + 1000 });
  assert.equal(b.counts(0, 0), false, 'rank 0 already pushed step 0');
  assert.equal(b.counts(1, 0), true);
  const q = b.push(1, 0, { sampleCount: 1 }, { deadlineMs: Date.now() + 1000 });
  assert.deepEqual(await Promise.all([p, q]), [1, 1]);
  assert.equal(b.counts(0, 0), false, 'step 0 was applied');
  assert.equal(b.counts(0, 1), true);
});

void test("counts: nothing is counted while a step completes (an evicted rank's captured push stays intact)", async () => {
  let release: (v: number) => void = () => undefined;
  const b = new StepBarrier<{ sampleCount: number }, number>('j', 2, {
    prepare: () => new Promise<number>((r) => (release = r)),
    complete: (_o, version) => version,
    current: () => -1,
  });
  const dl = { deadlineMs: Date.now() + 1000 };
  const p = b.push(0, 0, { sampleCount: 1 }, dl);
  const q = b.push(1, 0, { sampleCount: 1 }, dl);
  // The step is completing (prepare in flight); rank 1 is evicted, its contribution dropped from the
  // pending map but still in the captured order: a new push of rank 1 must not be counted (staged).
  b.setMembers([0]);
  await assert.rejects(q, StateError);
  assert.equal(b.counts(1, 0), false, 'completing: not counted');
  assert.equal(b.counts(0, 0), false);
  release(Number.NaN);
  assert.equal(await p, 1);
  assert.equal(b.counts(0, 1), true, 'the next step counts again');
});
