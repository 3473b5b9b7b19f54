import assert from 'node:assert/strict';
import { sleep } from '@distrain/core';
import type { Job__Output } from '@distrain/core';

/**
 * Polls `get(id)` every `pollMs` until `done` holds for the job and returns it; past `timeoutMs`
 * the test fails naming the job's state and step.
 */
export async function waitForJob(
  get: (id: string) => Promise<Job__Output>,
  id: string,
  done: (j: Job__Output) => boolean,
  timeoutMs: number,
  pollMs = 200,
): Promise<Job__Output> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const j = await get(id);
    if (done(j)) return j;
    if (Date.now() > until) assert.fail(`job ${id} still ${j.state} at step ${j.progress?.globalStep}`);
    await sleep(pollMs);
  }
}
