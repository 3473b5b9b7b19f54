import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MALLOC_TUNABLES, mallocEnv } from './role-entry.ts';

test('a distrain process starts with the malloc settings unless the operator set GLIBC_TUNABLES', () => {
  assert.deepEqual(mallocEnv({ PATH: '/bin' }), { GLIBC_TUNABLES: MALLOC_TUNABLES });
  assert.deepEqual(mallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }), {});
  // Each setting is a glibc tunable name with a byte count, joined by ':' as glibc reads them.
  for (const part of MALLOC_TUNABLES.split(':'))
    assert.match(part, /^glibc\.malloc\.(mmap_threshold|trim_threshold)=\d+$/);
});
