import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors.ts';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { DATA_PLANE_HEAP_GROWING_PERCENT, FrameCollector, tuneHeapForDataPlane } from './heap-tuning.ts';

test('tuneHeapForDataPlane: a --heap-growing-percent on the command line wins (nothing set)', () => {
  for (const argv of [['--heap-growing-percent=50'], ['--import', 'tsx', '--heap_growing_percent', '50']])
    assert.equal(tuneHeapForDataPlane(DATA_PLANE_HEAP_GROWING_PERCENT, argv), undefined);
  // A flag that only starts with the name is not it.
  assert.equal(tuneHeapForDataPlane(0, ['--heap-growing-percentage=1']), 0);
});

test('tuneHeapForDataPlane: sets the percent (default 300) and names the field of a bad one', () => {
  assert.equal(DATA_PLANE_HEAP_GROWING_PERCENT, 300);
  assert.equal(tuneHeapForDataPlane(DATA_PLANE_HEAP_GROWING_PERCENT, []), 300);
  for (const bad of [-1, 1.5, 1001, Number.NaN])
    assert.throws(
      () => tuneHeapForDataPlane(bad, []),
      (e: unknown) =>
        e instanceof ValidationError && e.field === 'heapGrowingPercent' && /0 .* 1000/.test(e.message),
    );
  tuneHeapForDataPlane(0, []); // back to V8's own factor for the rest of this test process
});

test('FrameCollector: collects once the threshold of frames came in, only when idle, once per threshold', async () => {
  let runs = 0;
  const c = new FrameCollector(1024, () => runs++);
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  c.received(1000);
  c.idle(); // below the threshold: nothing
  await turn();
  assert.equal(runs, 0);
  c.received(100); // 1100 >= 1024, but nothing runs until idle
  await turn();
  assert.equal(runs, 0);
  c.idle();
  c.idle(); // scheduled once
  assert.equal(runs, 0, 'after the current I/O, not inside the call');
  await turn();
  assert.equal(runs, 1);
  c.idle(); // the count started over
  await turn();
  assert.equal(runs, 1);
});

test('FrameCollector: the default collection is a young-generation GC that frees received external buffers', async () => {
  const minor: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (
        (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR
      )
        minor.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  try {
    const c = new FrameCollector(1);
    c.received(1);
    c.idle();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
    assert.ok(minor.length >= 1, 'a minor GC ran');
  } finally {
    obs.disconnect();
  }
});
