import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors.ts';
import { DATA_PLANE_HEAP_GROWING_PERCENT, tuneHeapForDataPlane } from './heap-tuning.ts';

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
