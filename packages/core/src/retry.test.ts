import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, withRetry } from './retry.ts';

test('backoffDelay: full jitter under a doubling bound capped at maxMs', () => {
  assert.equal(backoffDelay(0, 100, 5_000, () => 0.999999) < 100, true);
  assert.equal(
    backoffDelay(3, 100, 5_000, () => 0.5),
    400,
  );
  assert.equal(
    backoffDelay(20, 100, 5_000, () => 0.5),
    2_500,
  );
  assert.equal(
    backoffDelay(5, 100, 5_000, () => 0),
    0,
  );
  // Two clients that failed together wait different times (not lockstep).
  const waits = new Set(Array.from({ length: 20 }, () => backoffDelay(4)));
  assert.ok(waits.size > 15);
});

test('withRetry: retries what is retryable, up to the limit, with each attempt numbered', async () => {
  const seen: number[] = [];
  const result = await withRetry(
    async (n) => {
      seen.push(n);
      if (n < 2) throw new Error('transient');
      return 'ok';
    },
    () => true,
    { retries: 5, baseMs: 1 },
  );
  assert.equal(result, 'ok');
  assert.deepEqual(seen, [0, 1, 2]);

  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new Error('still down');
      },
      () => true,
      { retries: 2, baseMs: 1 },
    ),
    /still down/,
  );
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new Error('bad input');
      },
      (err) => (err as Error).message !== 'bad input',
      { retries: 5, baseMs: 1 },
    ),
    /bad input/,
  );
  assert.equal(calls, 1, 'a non-retryable error is thrown at once');
});

test('withRetry: an aborted signal stops the retries', async () => {
  const ac = new AbortController();
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        ac.abort();
        throw new Error('down');
      },
      () => true,
      { retries: 10, baseMs: 1_000, signal: ac.signal },
    ),
    /down/,
  );
  assert.equal(calls, 1);
});
